// A host for plugin unit tests: it creates one instance of a plugin for one office and calls its
// methods without an engine, a network or a database. Store, audit, logs, secrets and metrics are
// in memory and inspectable; calls to other concerns go to a handler the test sets, or to another
// FakeHost's plugin.
//
//   kaigo::sdk::testing::FakeHost host;
//   ASSERT_TRUE(host.Load(kaigo_plugin_entry(KAIGO_ABI_VERSION)).ok());
//   auto reply = host.CallUnary<ListPendingResponse>("/kaigo.v1.OtpService/ListPending", {});
//
// Thread-safe, except Load and the Set*/Route* methods, which belong before the first call.
#ifndef KAIGO_SDK_FAKE_HOST_H_
#define KAIGO_SDK_FAKE_HOST_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "kaigo/plugin.h"
#include "kaigo/sdk/clock.h"

namespace kaigo::sdk::testing {

struct CallResult {
  absl::Status status = absl::DeadlineExceededError("the plugin did not finish the call");
  std::string response;
  std::vector<std::string> messages;
};

// A call in flight. Thread-safe.
class PendingCall {
 public:
  PendingCall();
  ~PendingCall();
  PendingCall(const PendingCall&) = delete;
  PendingCall& operator=(const PendingCall&) = delete;
  // Waits until at least `count` streamed messages arrived (or the call finished).
  bool WaitForMessages(size_t count, absl::Duration timeout);
  bool WaitFinished(absl::Duration timeout);
  void Cancel();
  CallResult Result();

 private:
  friend class FakeHost;
  // Receives the plugin's writes and finish (the host side's sink, kept out of this header).
  class Sink;
  void AddMessage(std::string_view message);
  void SetFinished(const absl::Status& status, std::string_view response);

  std::unique_ptr<Sink> sink_;
  kaigo_call* call_ = nullptr;
  std::mutex mu_;
  std::condition_variable changed_;
  bool finished_ = false;
  CallResult result_;
};

struct AuditEntry {
  std::string caller;
  std::string action;
  std::string subject_ref;
  int32_t outcome;
  std::string detail;
};

class FakeHost {
 public:
  // The office's 介護保険事業所番号; the default one is valid (check digit included).
  explicit FakeHost(std::string office = "1371000017", std::string plugin_name = "plugin");
  ~FakeHost();
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  // Creates the instance with the serialized settings message.
  absl::Status Load(const kaigo_plugin_api* api, std::string_view config = {});
  // Destroys the instance (waiting for nothing: every call must have finished).
  void Unload();

  std::unique_ptr<PendingCall> Start(std::string_view method, std::string_view request,
                                     std::vector<std::string> roles = {});
  CallResult Call(std::string_view method, std::string_view request,
                  absl::Duration timeout = absl::Seconds(10), std::vector<std::string> roles = {});

  template <class Response>
  absl::StatusOr<Response> CallUnary(std::string_view method,
                                     const google::protobuf::MessageLite& request) {
    CallResult result = Call(method, request.SerializeAsString());
    if (!result.status.ok()) return result.status;
    Response response;
    if (!response.ParseFromString(result.response)) {
      return absl::InternalError("the plugin's response does not parse");
    }
    return response;
  }

  // Calls to other concerns: to `other`'s plugin (for methods of its services), else to
  // `fallback`, else UNIMPLEMENTED.
  void RouteTo(FakeHost* other) { route_to_ = other; }
  using OutgoingHandler =
      std::function<absl::StatusOr<std::string>(std::string_view method, std::string_view request)>;
  void SetOutgoingHandler(OutgoingHandler fallback) { fallback_ = std::move(fallback); }

  void SetSecret(std::string name, std::string value);

  // The host's clock (kaigo_host_api.now_unix_us): the system time until a test moves it, e.g.
  // SetJapanTime({2027, 3, 31, 23, 59, 59}) for the last second of a fiscal year. Thread-safe.
  void SetClockOffset(absl::Duration offset) { clock_.set_offset(offset); }
  void SetJapanTime(absl::CivilSecond japan_time) { clock_.set_offset(OffsetTo(japan_time)); }
  const Clock& clock() const { return clock_; }

  std::map<std::string, std::string> Store();
  // Makes the next `count` conditional writes (store_put_if) fail with ABORTED, as if another
  // writer had changed the key just before each: for testing a plugin's retries.
  void InjectStoreConflicts(int count) {
    std::lock_guard<std::mutex> lock(mu_);
    conflicts_ = count;
  }
  std::vector<std::string> Logs();
  std::vector<AuditEntry> Audits();
  double Metric(const std::string& name);

  const std::string& office() const { return office_; }

 private:
  friend struct FakeHostApi;

  std::string office_;
  std::string plugin_name_;
  const kaigo_plugin_api* api_ = nullptr;
  kaigo_instance* instance_ = nullptr;
  FakeHost* route_to_ = nullptr;
  OutgoingHandler fallback_;
  Clock clock_;

  std::mutex mu_;
  std::map<std::string, std::string> store_;
  std::map<std::string, int64_t> versions_;  // every write takes the next of last_version_
  int64_t last_version_ = 0;
  int conflicts_ = 0;
  std::map<std::string, std::string> secrets_;
  std::map<std::string, double> metrics_;
  std::vector<std::string> logs_;
  std::vector<AuditEntry> audits_;
};

}  // namespace kaigo::sdk::testing

#endif  // KAIGO_SDK_FAKE_HOST_H_

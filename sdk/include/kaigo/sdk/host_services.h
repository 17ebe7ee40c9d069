// The host's services as a plugin instance sees them: logging, its durable store, audit, secrets,
// metrics and calls to other concerns of the same office.
//
// Thread-safe: every method may be called from any thread. Store, audit and secret calls block on
// the host's storage: call them from your own threads or a BlockingUnary handler, not from a
// non-blocking handler that runs on an RPC thread.
#ifndef KAIGO_SDK_HOST_SERVICES_H_
#define KAIGO_SDK_HOST_SERVICES_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "kaigo/plugin.h"
#include "kaigo/sdk/call.h"

namespace kaigo::sdk {

// Secrets whose names start with "kaigo." are the engine's own, lent to every plugin instance
// (an office cannot bind such a name). This one is the key of the recipient references audit
// records carry (engine configuration keys.recipient_ref): HMAC-SHA-256 over "insurer:insured".
inline constexpr char kRecipientRefSecret[] = "kaigo.recipient_ref_key";

// A call to another concern, started by HostServices::CallRaw. Thread-safe. Dropping the last
// reference releases the handle; it does not cancel.
class OutgoingCall {
 public:
  OutgoingCall(const kaigo_host_api* api, std::function<void(std::string_view)> on_message,
               std::function<void(const absl::Status&)> on_finish);
  ~OutgoingCall();
  OutgoingCall(const OutgoingCall&) = delete;
  OutgoingCall& operator=(const OutgoingCall&) = delete;
  void Cancel();

 private:
  friend class HostServices;
  void Attach(kaigo_outgoing_call* handle);

  const kaigo_host_api* api_;
  std::function<void(std::string_view)> on_message_;
  std::function<void(const absl::Status&)> on_finish_;
  std::mutex mu_;
  kaigo_outgoing_call* handle_ = nullptr;
  bool cancel_requested_ = false;
};

// A stored value with its version (kaigo_host_api.store_get_versioned).
struct StoredValue {
  std::string value;
  int64_t version = 0;  // 0: the key does not exist
};

class HostServices {
 public:
  // How often StoreUpdate tries before it gives up with ABORTED.
  static constexpr int kStoreUpdateAttempts = 32;

  HostServices(const kaigo_host_api* api, kaigo_host* host);

  void Log(int32_t level, std::string_view message) const;
  void Info(std::string_view message) const { Log(KAIGO_LOG_INFO, message); }
  void Warn(std::string_view message) const { Log(KAIGO_LOG_WARN, message); }

  absl::StatusOr<std::string> StoreGet(std::string_view key) const;
  absl::Status StorePut(std::string_view key, std::string_view value) const;
  absl::Status StoreDelete(std::string_view key) const;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> StoreList(
      std::string_view prefix) const;

  // Compare-and-set, for state that more than one call — or more than one engine sharing the
  // store — may change. A host without kaigo_host_api.store_put_if has none: these then answer
  // UNIMPLEMENTED.
  bool HasCompareAndSet() const;
  // NOT_FOUND when the key is absent.
  absl::StatusOr<StoredValue> StoreGetVersioned(std::string_view key) const;
  // Writes only if the key's version is still `expected_version` (0: only if absent) and returns
  // the new version; ABORTED, writing nothing, when the key changed meanwhile.
  absl::StatusOr<int64_t> StorePutIf(std::string_view key, std::string_view value,
                                     int64_t expected_version) const;

  // A read-modify-write that loses no update: reads the key, asks `change` for the value to
  // write, and writes it only if the key has not changed meanwhile; otherwise reads again and asks
  // again, at most `attempts` times (then ABORTED). `change` gets the value (nullptr when absent)
  // and returns the value to write, std::nullopt to leave the key as it is, or an error that ends
  // the update. It may run several times, so it must do nothing but compute. Returns what is
  // stored afterwards (version 0: absent).
  using StoreChange =
      std::function<absl::StatusOr<std::optional<std::string>>(const std::string* current)>;
  absl::StatusOr<StoredValue> StoreUpdate(std::string_view key, const StoreChange& change,
                                          int attempts = kStoreUpdateAttempts) const;

  // StoreUpdate of a stored message: `change` edits the message (empty, `exists` false, when the
  // key is absent) and says whether to write it. Returns the message as stored afterwards.
  template <class Message>
  absl::StatusOr<Message> StoreUpdateMessage(
      std::string_view key,
      const std::function<absl::StatusOr<bool>(Message& message, bool exists)>& change) const {
    Message result;
    auto stored = StoreUpdate(
        key, [&](const std::string* current) -> absl::StatusOr<std::optional<std::string>> {
          result.Clear();
          if (current != nullptr && !result.ParseFromString(*current)) {
            return absl::DataLossError(std::string(key) + ": the stored value is unreadable");
          }
          absl::StatusOr<bool> write = change(result, current != nullptr);
          if (!write.ok()) return write.status();
          if (!*write) return std::nullopt;
          return result.SerializeAsString();
        });
    if (!stored.ok()) return stored.status();
    return result;
  }

  // `subject_ref` refers to the recipient (e.g. a hash or an internal id), never personal values.
  absl::Status Audit(const CallBase* call, std::string_view action, std::string_view subject_ref,
                     absl::StatusCode outcome, std::string_view detail = {}) const;

  // Fail closed: writes the audit record of an answer about a recipient and returns the answer,
  // unless the record could not be written — then a disclosing (OK) answer becomes UNAVAILABLE
  // and nothing is disclosed.
  template <class T>
  absl::StatusOr<T> Disclose(const CallBase* call, std::string_view action,
                             std::string_view subject_ref, absl::StatusOr<T> answer,
                             std::string_view detail = {}) const {
    absl::Status audited = Audit(call, action, subject_ref, answer.status().code(), detail);
    if (!audited.ok() && answer.ok()) return AuditUnavailable();
    return answer;
  }
  // Fail closed for an action that discloses (a send, a filing): its record, outcome UNKNOWN
  // ("begun: …"), is written before the action, which must not happen when this fails. The
  // outcome follows in a record of its own.
  absl::Status AuditBegun(const CallBase* call, std::string_view action,
                          std::string_view subject_ref, std::string_view detail) const {
    absl::Status s = Audit(call, action, subject_ref, absl::StatusCode::kUnknown,
                           std::string("begun: ") + std::string(detail));
    return s.ok() ? s : AuditUnavailable();
  }
  static absl::Status AuditUnavailable() {
    return absl::UnavailableError(
        "the access could not be recorded in the audit log, so nothing was disclosed; try again");
  }

  absl::StatusOr<std::string> Secret(std::string_view name) const;

  // The host's clock (see kaigo/sdk/clock.h): for business dates and stored timestamps, never for
  // deadlines, TTLs or backoff. Today() is the day in Japan.
  absl::Time Now() const;
  absl::CivilDay Today() const;

  void MetricAdd(std::string_view name, double delta) const;

  // Calls another concern for this office. `on_message` runs per response message, `on_finish`
  // once, last; both on host threads, neither may block. Calls still running when the instance is
  // destroyed are cancelled and awaited by the SDK.
  std::shared_ptr<OutgoingCall> CallRaw(const CallBase* parent, std::string_view method,
                                        std::string_view request,
                                        std::function<void(std::string_view)> on_message,
                                        std::function<void(const absl::Status&)> on_finish) const;

  template <class Response>
  std::shared_ptr<OutgoingCall> CallUnary(
      const CallBase* parent, std::string_view method, const google::protobuf::MessageLite& request,
      std::function<void(absl::StatusOr<Response>)> done) const {
    auto response = std::make_shared<absl::StatusOr<Response>>(
        absl::InternalError(std::string(method) + " returned no response"));
    std::string bytes;
    request.SerializeToString(&bytes);
    return CallRaw(
        parent, method, bytes,
        [response](std::string_view message) {
          Response parsed;
          if (parsed.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
            *response = std::move(parsed);
          } else {
            *response = absl::InternalError("the response could not be parsed");
          }
        },
        [response, done = std::move(done)](const absl::Status& status) {
          done(status.ok() ? std::move(*response) : absl::StatusOr<Response>(status));
        });
  }

  // For a blocking handler (BlockingUnary): calls another concern and waits for its answer, but
  // only as long as `parent` lasts — its caller cancelling (CANCELLED) or its deadline passing
  // (DEADLINE_EXCEEDED, naming `method`) ends the wait and cancels the outgoing call.
  template <class Response>
  absl::StatusOr<Response> CallUnaryAndWait(const CallBase& parent, std::string_view method,
                                            const google::protobuf::MessageLite& request) const {
    auto wait = std::make_shared<OutgoingWait>();
    auto result = std::make_shared<absl::StatusOr<Response>>(absl::UnknownError("no answer"));
    auto call = CallUnary<Response>(&parent, method, request,
                                    [wait, result](absl::StatusOr<Response> answer) {
                                      std::lock_guard<std::mutex> lock(wait->mu);
                                      *result = std::move(answer);
                                      wait->finished = true;
                                      wait->changed.notify_all();
                                    });
    if (absl::Status s = AwaitOutgoing(parent, method, wait, *call); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(wait->mu);
    return std::move(*result);
  }

  // Cancels every outgoing call still running and waits for them to finish. The SDK calls it
  // before destroying an instance.
  void CancelAndAwaitOutgoing() const;

  const kaigo_host_api* api() const { return api_; }
  kaigo_host* host() const { return host_; }

 private:
  // What CallUnaryAndWait waits on: the outgoing call finishing, or the parent's caller leaving.
  struct OutgoingWait {
    std::mutex mu;
    std::condition_variable changed;
    bool finished = false;
    bool cancelled = false;
  };
  // Waits until `wait` is finished, the parent is cancelled or its deadline passes; cancels
  // `call` unless it finished.
  absl::Status AwaitOutgoing(const CallBase& parent, std::string_view method,
                             const std::shared_ptr<OutgoingWait>& wait, OutgoingCall& call) const;

  struct Outgoing {
    std::mutex mu;
    std::condition_variable idle;
    std::set<std::shared_ptr<OutgoingCall>> running;
  };
  const kaigo_host_api* api_;
  kaigo_host* host_;
  std::shared_ptr<Outgoing> outgoing_;
};

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_HOST_SERVICES_H_

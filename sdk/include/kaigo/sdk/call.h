// Incoming calls as a plugin sees them: typed wrappers over a kaigo_call handle.
//
// A handler receives a std::shared_ptr to a UnaryCall<Resp> or ServerStream<Resp> and finishes it
// exactly once, from any thread, now or later; further Finish calls are ignored. Write, Finish,
// IsCancelled and OnCancel are thread-safe.
#ifndef KAIGO_SDK_CALL_H_
#define KAIGO_SDK_CALL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kaigo/plugin.h"
#include "kaigo/sdk/call_context.h"

namespace kaigo::sdk {

class Instance;
namespace internal {
class Dispatcher;
}

// What the host knows about a call, copied out of kaigo_call_info (see call_context.h).
using CallInfo = CallContext;

class CallBase {
 public:
  CallBase(const kaigo_host_api* api, kaigo_call* call, CallInfo info);
  virtual ~CallBase() = default;
  CallBase(const CallBase&) = delete;
  CallBase& operator=(const CallBase&) = delete;

  const CallInfo& info() const { return info_; }
  bool IsCancelled() const { return cancelled_.load(std::memory_order_acquire); }
  bool IsFinished() const { return finished_.load(std::memory_order_acquire); }

  // Runs `fn` once when the caller cancels, at once if it already has. Runs on a host thread and
  // must not block; it usually finishes the call or wakes whatever will.
  void OnCancel(std::function<void()> fn);
  // For code that holds the call as const — a BlockingUnary handler, which runs while the call
  // may be cancelled — and beside any OnCancel: `fn` runs once when the caller cancels, at once
  // if it already has, on a host thread, and must not block (it wakes whatever waits).
  // HostServices cancels the outgoing calls started on a call's behalf this way.
  void AddCancelObserver(std::function<void()> fn) const;

  // The ABI handle, for HostServices::Audit and outgoing calls that inherit this call's context.
  const kaigo_call* handle() const { return call_; }

 protected:
  // Returns false if the call had already finished.
  bool FinishWith(const absl::Status& status, std::string_view response);
  // KAIGO_CODE_OK, or KAIGO_CODE_CANCELLED once the caller has gone or the call finished.
  int32_t WriteBytes(std::string_view message);

 private:
  friend class internal::Dispatcher;
  friend class Instance;
  void NotifyCancelled();

  const kaigo_host_api* api_;
  kaigo_call* call_;
  CallInfo info_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> finished_{false};
  mutable std::mutex mu_;
  std::function<void()> on_cancel_;
  mutable std::vector<std::function<void()>> cancel_observers_;
  // Keeps the object alive until the call has finished (the host's handle refers to it).
  std::shared_ptr<CallBase> self_;
};

template <class Response>
class UnaryCall : public CallBase {
 public:
  using CallBase::CallBase;
  void Finish(const absl::StatusOr<Response>& result) {
    if (!result.ok()) {
      FinishWith(result.status(), {});
      return;
    }
    std::string bytes;
    if (!result->SerializeToString(&bytes)) {
      FinishWith(absl::InternalError("the plugin could not serialize its response"), {});
      return;
    }
    FinishWith(absl::OkStatus(), bytes);
  }
};

template <class Response>
class ServerStream : public CallBase {
 public:
  using CallBase::CallBase;
  // False once the caller has gone: stop producing and Finish.
  bool Write(const Response& message) {
    std::string bytes;
    if (!message.SerializeToString(&bytes)) return false;
    return WriteBytes(bytes) == KAIGO_CODE_OK;
  }
  void Finish(const absl::Status& status) { FinishWith(status, {}); }
};

// A call whose messages stay serialized: for plugins that pass calls on without reading them
// (Instance::Forward). Write is for server-streaming methods only.
class RawCall : public CallBase {
 public:
  using CallBase::CallBase;
  bool Write(std::string_view message) { return WriteBytes(message) == KAIGO_CODE_OK; }
  void Finish(const absl::Status& status, std::string_view response = {}) {
    FinishWith(status, response);
  }
};

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_CALL_H_

// Host-side implementation of the ABI's call handles, shared by the engine and the SDK's fake host
// so both honour the contract in kaigo/plugin.h the same way:
//  - a kaigo_call is reference counted: the plugin's reference lasts from Start until its
//    call_finish returns, the creator's until Release;
//  - cancel is delivered at most once, only after call_start returned, never after call_finish
//    returned; call_finish from another thread waits for a cancel delivery in progress.
// Thread-safe.
#ifndef KAIGO_SDK_INTERNAL_HOST_SIDE_H_
#define KAIGO_SDK_INTERNAL_HOST_SIDE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "kaigo/plugin.h"
#include "kaigo/sdk/call_context.h"

namespace kaigo::sdk::host {

// Receives what a plugin produces for one call.
class CallSink {
 public:
  virtual ~CallSink() = default;
  // One streamed message; false once the receiver has gone.
  virtual bool OnWrite(std::string_view message) = 0;
  // Last; the sink may be destroyed once it returns.
  virtual void OnFinish(const absl::Status& status, std::string_view response) = 0;
};

// One plugin instance as a call target. `keepalive` keeps the instance from being destroyed while
// a call is in flight (drain after a swap or reload).
struct Target {
  const kaigo_plugin_api* api = nullptr;
  kaigo_instance* instance = nullptr;
  std::shared_ptr<void> keepalive;
  // A unary method's response comes with its finish; an outgoing call passes it on as a message.
  bool server_streaming = false;
};

using CallContext = sdk::CallContext;

// The ABI's call_write and call_finish, for a host's kaigo_host_api table.
int32_t CallWrite(kaigo_call* call, kaigo_bytes message);
void CallFinish(kaigo_call* call, const kaigo_status* status, kaigo_bytes response);

// The context (caller, office, deadline, request id) of a call, for audit records and outgoing
// calls that inherit it.
const CallContext& ContextOf(const kaigo_call* call);

// Starts `request` on `target`; `sink` must stay valid until its OnFinish returns. Returns the
// creator's reference: pass it to Cancel as often as needed and to Release exactly once.
kaigo_call* StartCall(Target target, CallContext context, CallSink* sink, std::string_view request);
void Cancel(kaigo_call* call);
void Release(kaigo_call* call);

// Starts an outgoing call (kaigo_host_api.call_start). With a null target.api the call finishes at
// once with `route_error`.
kaigo_outgoing_call* StartOutgoing(Target target, absl::Status route_error, CallContext context,
                                   std::string_view request, kaigo_reply_handler handler);
void OutgoingCancel(kaigo_outgoing_call* call);
void OutgoingRelease(kaigo_outgoing_call* call);

}  // namespace kaigo::sdk::host

#endif  // KAIGO_SDK_INTERNAL_HOST_SIDE_H_

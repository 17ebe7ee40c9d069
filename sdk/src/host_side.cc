#include "kaigo/sdk/internal/host_side.h"

#include "kaigo/sdk/abi.h"

// The ABI's opaque call types are defined here, on the host side.
struct kaigo_call {
  kaigo::sdk::host::Target target;
  kaigo::sdk::host::CallContext context;
  kaigo::sdk::host::CallSink* sink;
  void* plugin_ctx = nullptr;
  std::atomic<int> refs{2};  // the plugin's (until finish) and the creator's (until Release)

  std::mutex mu;
  std::condition_variable cancel_done;
  bool started = false;
  bool finished = false;
  bool cancel_requested = false;
  bool cancel_delivered = false;
  bool cancel_running = false;
  std::thread::id cancel_thread;

  void Unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

struct kaigo_outgoing_call : kaigo::sdk::host::CallSink {
  kaigo_reply_handler handler;
  bool unary = false;
  std::atomic<int> refs{2};  // the plugin's (until release) and the call's (until finish)

  std::mutex mu;
  kaigo_call* call = nullptr;  // the creator's reference on the target call, until finish
  bool finished = false;

  bool OnWrite(std::string_view message) override {
    if (handler.on_message != nullptr)
      handler.on_message(handler.ctx, kaigo::sdk::ToBytes(message));
    return true;
  }
  void OnFinish(const absl::Status& status, std::string_view response) override {
    if (status.ok() && unary && handler.on_message != nullptr) {
      handler.on_message(handler.ctx, kaigo::sdk::ToBytes(response));
    }
    kaigo_status s = kaigo::sdk::ToKaigoStatus(status);
    handler.on_finish(handler.ctx, &s);
    kaigo_call* target;
    {
      std::lock_guard<std::mutex> lock(mu);
      finished = true;
      target = call;
      call = nullptr;
    }
    if (target != nullptr) kaigo::sdk::host::Release(target);
    Unref();
  }
  void Unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

namespace kaigo::sdk::host {

namespace {

// Delivers the cancel to the plugin if the call is started, not finished and not yet told.
// Called with `lock` held; returns with it held.
void DeliverCancelLocked(kaigo_call* call, std::unique_lock<std::mutex>& lock) {
  if (!call->started || call->finished || !call->cancel_requested || call->cancel_delivered) return;
  call->cancel_delivered = true;
  call->cancel_running = true;
  call->cancel_thread = std::this_thread::get_id();
  lock.unlock();
  call->target.api->call_cancel(call->target.instance, call, call->plugin_ctx);
  lock.lock();
  call->cancel_running = false;
  call->cancel_done.notify_all();
}

}  // namespace

int32_t CallWrite(kaigo_call* call, kaigo_bytes message) {
  {
    std::lock_guard<std::mutex> lock(call->mu);
    if (call->finished) return KAIGO_CODE_CANCELLED;
  }
  return call->sink->OnWrite(FromBytes(message)) ? KAIGO_CODE_OK : KAIGO_CODE_CANCELLED;
}

void CallFinish(kaigo_call* call, const kaigo_status* status, kaigo_bytes response) {
  {
    std::unique_lock<std::mutex> lock(call->mu);
    if (call->finished) return;  // a second finish is a plugin bug; the first one counts
    call->finished = true;
    if (call->cancel_running && call->cancel_thread != std::this_thread::get_id()) {
      call->cancel_done.wait(lock, [call] { return !call->cancel_running; });
    }
  }
  call->sink->OnFinish(FromKaigoStatus(*status), FromBytes(response));
  call->Unref();
}

const CallContext& ContextOf(const kaigo_call* call) { return call->context; }

kaigo_call* StartCall(Target target, CallContext context, CallSink* sink,
                      std::string_view request) {
  auto* call = new kaigo_call();
  call->target = std::move(target);
  call->context = std::move(context);
  call->sink = sink;

  const CallContext& c = call->context;
  std::vector<kaigo_str> roles;
  roles.reserve(c.roles.size());
  for (const auto& r : c.roles) roles.push_back(ToStr(r));
  kaigo_call_info info{sizeof(kaigo_call_info),
                       ToStr(c.method),
                       ToStr(c.office),
                       ToStr(c.caller),
                       ToStr(c.request_id),
                       roles.data(),
                       roles.size(),
                       c.deadline_unix_ms,
                       ToStr(c.user)};
  // The plugin may finish (and drop its reference) inside call_start.
  call->refs.fetch_add(1);
  call->target.api->call_start(call->target.instance, call, &info, ToBytes(request),
                               &call->plugin_ctx);
  {
    std::unique_lock<std::mutex> lock(call->mu);
    call->started = true;
    DeliverCancelLocked(call, lock);
  }
  call->Unref();
  return call;
}

void Cancel(kaigo_call* call) {
  std::unique_lock<std::mutex> lock(call->mu);
  call->cancel_requested = true;
  DeliverCancelLocked(call, lock);
}

void Release(kaigo_call* call) { call->Unref(); }

kaigo_outgoing_call* StartOutgoing(Target target, absl::Status route_error, CallContext context,
                                   std::string_view request, kaigo_reply_handler handler) {
  auto* out = new kaigo_outgoing_call();
  out->handler = handler;
  if (target.api == nullptr) {
    out->OnFinish(route_error, {});
    return out;
  }
  out->unary = !target.server_streaming;
  out->refs.fetch_add(1);  // ours, while we attach the target call below
  kaigo_call* call = StartCall(std::move(target), std::move(context), out, request);
  bool finished;
  {
    std::lock_guard<std::mutex> lock(out->mu);
    finished = out->finished;
    if (!finished) out->call = call;
  }
  if (finished) Release(call);
  out->Unref();
  return out;
}

void OutgoingCancel(kaigo_outgoing_call* call) {
  kaigo_call* target;
  {
    std::lock_guard<std::mutex> lock(call->mu);
    target = call->call;
    if (target != nullptr) target->refs.fetch_add(1);  // keeps it alive while we cancel
  }
  if (target == nullptr) return;
  Cancel(target);
  target->Unref();
}

void OutgoingRelease(kaigo_outgoing_call* call) { call->Unref(); }

}  // namespace kaigo::sdk::host

#include "kaigo/sdk/host_services.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "absl/time/clock.h"
#include "kaigo/sdk/abi.h"
#include "kaigo/sdk/clock.h"

namespace kaigo::sdk {

OutgoingCall::OutgoingCall(const kaigo_host_api* api,
                           std::function<void(std::string_view)> on_message,
                           std::function<void(const absl::Status&)> on_finish)
    : api_(api), on_message_(std::move(on_message)), on_finish_(std::move(on_finish)) {}

OutgoingCall::~OutgoingCall() {
  if (handle_ != nullptr) api_->outgoing_release(handle_);
}

void OutgoingCall::Attach(kaigo_outgoing_call* handle) {
  bool cancel;
  {
    std::lock_guard<std::mutex> lock(mu_);
    handle_ = handle;
    cancel = cancel_requested_;
  }
  if (cancel && handle != nullptr) api_->outgoing_cancel(handle);
}

void OutgoingCall::Cancel() {
  kaigo_outgoing_call* handle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_requested_ = true;
    handle = handle_;
  }
  if (handle != nullptr) api_->outgoing_cancel(handle);
}

HostServices::HostServices(const kaigo_host_api* api, kaigo_host* host)
    : api_(api), host_(host), outgoing_(std::make_shared<Outgoing>()) {}

void HostServices::Log(int32_t level, std::string_view message) const {
  api_->log(host_, level, ToStr(message));
}

absl::StatusOr<std::string> HostServices::StoreGet(std::string_view key) const {
  std::string value;
  int32_t code = api_->store_get(host_, ToStr(key), StringSink(&value));
  if (code != KAIGO_CODE_OK)
    return FromKaigoCode(code, "store get failed for key " + std::string(key));
  return value;
}

absl::Status HostServices::StorePut(std::string_view key, std::string_view value) const {
  int32_t code = api_->store_put(host_, ToStr(key), ToBytes(value));
  if (code == KAIGO_CODE_OK) return absl::OkStatus();
  return FromKaigoCode(code, "store put failed for key " + std::string(key));
}

absl::Status HostServices::StoreDelete(std::string_view key) const {
  int32_t code = api_->store_delete(host_, ToStr(key));
  if (code == KAIGO_CODE_OK || code == KAIGO_CODE_NOT_FOUND) return absl::OkStatus();
  return FromKaigoCode(code, "store delete failed for key " + std::string(key));
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> HostServices::StoreList(
    std::string_view prefix) const {
  std::vector<std::pair<std::string, std::string>> out;
  int32_t code =
      api_->store_list(host_, ToStr(prefix), &out, [](void* ctx, kaigo_str key, kaigo_bytes value) {
        static_cast<std::vector<std::pair<std::string, std::string>>*>(ctx)->emplace_back(
            FromStr(key), FromBytes(value));
      });
  if (code != KAIGO_CODE_OK) return FromKaigoCode(code, "store list failed");
  return out;
}

bool HostServices::HasCompareAndSet() const {
  return KAIGO_HAS_FIELD(api_, kaigo_host_api, store_put_if) &&
         api_->store_get_versioned != nullptr && api_->store_put_if != nullptr;
}

namespace {
absl::Status NoCompareAndSet() {
  return absl::UnimplementedError(
      "the host has no compare-and-set (kaigo_host_api.store_put_if): this plugin needs a newer "
      "engine");
}
}  // namespace

absl::StatusOr<StoredValue> HostServices::StoreGetVersioned(std::string_view key) const {
  if (!HasCompareAndSet()) return NoCompareAndSet();
  StoredValue stored;
  int32_t code =
      api_->store_get_versioned(host_, ToStr(key), StringSink(&stored.value), &stored.version);
  if (code != KAIGO_CODE_OK)
    return FromKaigoCode(code, "store get failed for key " + std::string(key));
  return stored;
}

absl::StatusOr<int64_t> HostServices::StorePutIf(std::string_view key, std::string_view value,
                                                 int64_t expected_version) const {
  if (!HasCompareAndSet()) return NoCompareAndSet();
  int64_t version = 0;
  int32_t code = api_->store_put_if(host_, ToStr(key), ToBytes(value), expected_version, &version);
  if (code == KAIGO_CODE_OK) return version;
  if (code == KAIGO_CODE_ABORTED) {
    return absl::AbortedError("store: " + std::string(key) + " changed since it was read");
  }
  return FromKaigoCode(code, "store put failed for key " + std::string(key));
}

absl::StatusOr<StoredValue> HostServices::StoreUpdate(std::string_view key,
                                                      const StoreChange& change,
                                                      int attempts) const {
  thread_local std::minstd_rand jitter(std::random_device{}());
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    absl::StatusOr<StoredValue> stored = StoreGetVersioned(key);
    if (absl::IsNotFound(stored.status())) stored = StoredValue{};
    if (!stored.ok()) return stored.status();
    absl::StatusOr<std::optional<std::string>> next =
        change(stored->version != 0 ? &stored->value : nullptr);
    if (!next.ok()) return next.status();
    if (!next->has_value()) return stored;
    absl::StatusOr<int64_t> written = StorePutIf(key, **next, stored->version);
    if (written.ok()) return StoredValue{**std::move(next), *written};
    if (!absl::IsAborted(written.status())) return written.status();
    // Another writer got there first: back off a little, at random, so the writers spread out.
    int ceiling_ms = std::min(1 << std::min(attempt, 5), 20);
    std::this_thread::sleep_for(
        std::chrono::microseconds(jitter() % (static_cast<unsigned>(ceiling_ms) * 1000 + 1)));
  }
  return absl::AbortedError("store: " + std::string(key) + " kept changing under " +
                            std::to_string(attempts) + " attempts to update it; try again");
}

absl::Status HostServices::Audit(const CallBase* call, std::string_view action,
                                 std::string_view subject_ref, absl::StatusCode outcome,
                                 std::string_view detail) const {
  kaigo_audit_record record{sizeof(kaigo_audit_record), ToStr(action), ToStr(subject_ref),
                            static_cast<int32_t>(outcome), ToStr(detail)};
  int32_t code = api_->audit_append(host_, call ? call->handle() : nullptr, &record);
  if (code == KAIGO_CODE_OK) return absl::OkStatus();
  return FromKaigoCode(code, "audit append failed");
}

absl::StatusOr<std::string> HostServices::Secret(std::string_view name) const {
  std::string value;
  int32_t code = api_->secret_get(host_, ToStr(name), StringSink(&value));
  if (code != KAIGO_CODE_OK) {
    return FromKaigoCode(code, "secret '" + std::string(name) + "' is not available");
  }
  return value;
}

absl::Time HostServices::Now() const {
  if (KAIGO_HAS_FIELD(api_, kaigo_host_api, now_unix_us) && api_->now_unix_us != nullptr) {
    return absl::FromUnixMicros(api_->now_unix_us(host_));
  }
  return absl::Now();
}

absl::CivilDay HostServices::Today() const { return JapanDay(Now()); }

void HostServices::MetricAdd(std::string_view name, double delta) const {
  api_->metric_add(host_, ToStr(name), delta);
}

std::shared_ptr<OutgoingCall> HostServices::CallRaw(
    const CallBase* parent, std::string_view method, std::string_view request,
    std::function<void(std::string_view)> on_message,
    std::function<void(const absl::Status&)> on_finish) const {
  auto call = std::make_shared<OutgoingCall>(api_, std::move(on_message), std::move(on_finish));
  {
    std::lock_guard<std::mutex> lock(outgoing_->mu);
    outgoing_->running.insert(call);
  }
  struct Reply {
    OutgoingCall* call;
    std::weak_ptr<Outgoing> registry;
    kaigo_host* host;
  };
  auto* reply = new Reply{call.get(), outgoing_, host_};
  // The plugin's reply callbacks run on host threads: an exception must not cross the ABI. The
  // call they would have finished cannot be known here; the host is told.
  static constexpr auto guarded = [](const Reply& r, auto&& body) {
    try {
      body();
    } catch (...) {
      r.call->api_->log(r.host, KAIGO_LOG_ERROR,
                        ToStr("a reply handler of an outgoing call failed (an exception)"));
    }
  };
  kaigo_reply_handler handler{
      reply,
      [](void* ctx, kaigo_bytes message) {
        auto* r = static_cast<Reply*>(ctx);
        if (!r->call->on_message_) return;
        guarded(*r, [&] { r->call->on_message_(FromBytes(message)); });
      },
      [](void* ctx, const kaigo_status* status) {
        std::unique_ptr<Reply> r(static_cast<Reply*>(ctx));
        if (r->call->on_finish_) {
          guarded(*r, [&] { r->call->on_finish_(FromKaigoStatus(*status)); });
        }
        // Unregistered only after the callback ran, so
        // CancelAndAwaitOutgoing also waits for it.
        if (auto registry = r->registry.lock()) {
          std::shared_ptr<OutgoingCall> dropped;
          std::lock_guard<std::mutex> lock(registry->mu);
          for (auto it = registry->running.begin(); it != registry->running.end(); ++it) {
            if (it->get() == r->call) {
              dropped = *it;
              registry->running.erase(it);
              break;
            }
          }
          registry->idle.notify_all();
        }
      }};
  kaigo_outgoing_call* handle = api_->call_start(host_, parent ? parent->handle() : nullptr,
                                                 ToStr(method), ToBytes(request), handler);
  call->Attach(handle);
  if (parent != nullptr) {
    parent->AddCancelObserver([weak = std::weak_ptr<OutgoingCall>(call)] {
      if (auto outgoing = weak.lock()) outgoing->Cancel();
    });
  }
  return call;
}

absl::Status HostServices::AwaitOutgoing(const CallBase& parent, std::string_view method,
                                         const std::shared_ptr<OutgoingWait>& wait,
                                         OutgoingCall& call) const {
  parent.AddCancelObserver([wait] {
    std::lock_guard<std::mutex> lock(wait->mu);
    wait->cancelled = true;
    wait->changed.notify_all();
  });
  auto ended = [&wait] { return wait->finished || wait->cancelled; };
  std::unique_lock<std::mutex> lock(wait->mu);
  if (int64_t deadline = parent.info().deadline_unix_ms; deadline > 0) {
    wait->changed.wait_until(
        lock, std::chrono::system_clock::time_point(std::chrono::milliseconds(deadline)), ended);
  } else {
    wait->changed.wait(lock, ended);
  }
  if (wait->finished) return absl::OkStatus();
  bool cancelled = wait->cancelled;
  lock.unlock();
  call.Cancel();
  return cancelled ? absl::CancelledError(std::string(method) +
                                          ": the caller cancelled while it was awaited")
                   : absl::DeadlineExceededError(std::string(method) +
                                                 ": no answer before the call's deadline");
}

void HostServices::CancelAndAwaitOutgoing() const {
  std::vector<std::shared_ptr<OutgoingCall>> running;
  {
    std::lock_guard<std::mutex> lock(outgoing_->mu);
    running.assign(outgoing_->running.begin(), outgoing_->running.end());
  }
  for (auto& call : running) call->Cancel();
  running.clear();
  std::unique_lock<std::mutex> lock(outgoing_->mu);
  outgoing_->idle.wait(lock, [this] { return outgoing_->running.empty(); });
}

}  // namespace kaigo::sdk

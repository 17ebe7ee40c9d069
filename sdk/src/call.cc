#include "kaigo/sdk/call.h"

#include <algorithm>

#include "kaigo/sdk/abi.h"

namespace kaigo::sdk {

CallContext CallContext::From(const kaigo_call_info& info) {
  CallContext out;
  out.method = std::string(FromStr(info.method));
  out.office = std::string(FromStr(info.office));
  out.caller = std::string(FromStr(info.caller));
  out.request_id = std::string(FromStr(info.request_id));
  for (size_t i = 0; i < info.role_count; ++i) {
    out.roles.emplace_back(FromStr(info.roles[i]));
  }
  if (KAIGO_HAS_FIELD(&info, kaigo_call_info, deadline_unix_ms)) {
    out.deadline_unix_ms = info.deadline_unix_ms;
  }
  if (KAIGO_HAS_FIELD(&info, kaigo_call_info, user)) out.user = std::string(FromStr(info.user));
  return out;
}

bool CallContext::HasRole(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

CallContext CallContext::Child(const CallContext* parent, std::string method, std::string office,
                               const std::string& plugin_name) {
  CallContext child;
  child.method = std::move(method);
  child.office = std::move(office);
  if (parent == nullptr) {
    child.caller = "plugin:" + plugin_name;
    return child;
  }
  child.caller = parent->caller;
  child.request_id = parent->request_id;
  child.roles = parent->roles;
  child.deadline_unix_ms = parent->deadline_unix_ms;
  child.user = parent->user;
  return child;
}

CallBase::CallBase(const kaigo_host_api* api, kaigo_call* call, CallInfo info)
    : api_(api), call_(call), info_(std::move(info)) {}

void CallBase::OnCancel(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!IsCancelled()) {
      on_cancel_ = std::move(fn);
      return;
    }
  }
  fn();
}

void CallBase::AddCancelObserver(std::function<void()> fn) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!IsCancelled()) {
      cancel_observers_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void CallBase::NotifyCancelled() {
  std::function<void()> fn;
  std::vector<std::function<void()>> observers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_.exchange(true, std::memory_order_acq_rel)) return;  // told once
    fn = std::move(on_cancel_);
    observers.swap(cancel_observers_);
  }
  // Plugin code on a host thread: an exception must not cross the ABI (see Instance::RunGuarded).
  try {
    if (fn) fn();
  } catch (...) {
    FinishWith(absl::InternalError("the plugin failed while cancelling request " +
                                   info_.request_id + " (an internal error)"),
               {});
  }
  for (auto& observer : observers) observer();
}

bool CallBase::FinishWith(const absl::Status& status, std::string_view response) {
  if (finished_.exchange(true, std::memory_order_acq_rel)) return false;
  // Released only after call_finish returned: until then the host may still deliver a cancel
  // that refers to this object.
  std::shared_ptr<CallBase> keep = std::move(self_);
  kaigo_status s = ToKaigoStatus(status);
  api_->call_finish(call_, &s, ToBytes(status.ok() ? response : std::string_view()));
  return true;
}

int32_t CallBase::WriteBytes(std::string_view message) {
  if (IsFinished()) return KAIGO_CODE_CANCELLED;
  return api_->call_write(call_, ToBytes(message));
}

}  // namespace kaigo::sdk

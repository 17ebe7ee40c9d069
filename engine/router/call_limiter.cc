#include "engine/router/call_limiter.h"

#include "absl/strings/str_cat.h"

namespace kaigo::engine {

CallLimits CallLimits::From(const kaigo::v1::CallLimits& config) {
  CallLimits limits;
  if (config.per_office() > 0) limits.per_office = config.per_office();
  if (config.per_caller() > 0) limits.per_caller = config.per_caller();
  if (config.stream_queue_messages() > 0) {
    limits.stream_queue_messages = config.stream_queue_messages();
  }
  if (config.watch_max_age_seconds() > 0) {
    limits.watch_max_age_seconds = config.watch_max_age_seconds();
  }
  return limits;
}

absl::Status CallLimiter::Acquire(const std::string& office, const std::string& caller) {
  std::lock_guard<std::mutex> lock(mu_);
  int& at_office = offices_[office];
  if (at_office >= limits_.per_office) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "office ", office, " has ", at_office,
        " calls in flight, its limit (server.call_limits.per_office); try again shortly"));
  }
  int& of_caller = callers_[caller];
  if (of_caller >= limits_.per_caller) {
    if (at_office == 0) offices_.erase(office);
    return absl::ResourceExhaustedError(absl::StrCat(
        "caller ", caller, " has ", of_caller,
        " calls in flight, its limit (server.call_limits.per_caller); try again shortly"));
  }
  ++at_office;
  ++of_caller;
  return absl::OkStatus();
}

void CallLimiter::Release(const std::string& office, const std::string& caller) {
  std::lock_guard<std::mutex> lock(mu_);
  if (--offices_[office] <= 0) offices_.erase(office);
  if (--callers_[caller] <= 0) callers_.erase(caller);
}

}  // namespace kaigo::engine

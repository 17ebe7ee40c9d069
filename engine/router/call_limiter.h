// Calls in flight per office and per caller, refused beyond the configuration's limits
// (server.call_limits). Thread-safe.
#ifndef KAIGO_ENGINE_ROUTER_CALL_LIMITER_H_
#define KAIGO_ENGINE_ROUTER_CALL_LIMITER_H_

#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "kaigo/v1/config.pb.h"

namespace kaigo::engine {

// The limits in force, with defaults for fields the configuration leaves at 0.
struct CallLimits {
  int per_office = 256;
  int per_caller = 1024;
  int stream_queue_messages = 4096;
  int watch_max_age_seconds = 3600;
  static CallLimits From(const kaigo::v1::CallLimits& config);
};

class CallLimiter {
 public:
  explicit CallLimiter(CallLimits limits) : limits_(limits) {}
  const CallLimits& limits() const { return limits_; }
  // Takes a slot for the office and one for the caller, to give back with Release; or
  // RESOURCE_EXHAUSTED naming the limit reached.
  absl::Status Acquire(const std::string& office, const std::string& caller);
  void Release(const std::string& office, const std::string& caller);

 private:
  const CallLimits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, int> offices_;  // only entries above 0
  std::unordered_map<std::string, int> callers_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_ROUTER_CALL_LIMITER_H_

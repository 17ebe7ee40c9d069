// Readiness that follows the store: a thread asks Store::Ping once a second and sets the health
// name kReadinessService to SERVING while the store answers and NOT_SERVING while it does not,
// logging each change. The engine's overall name "" (liveness) is not touched: a database outage
// takes the engine out of a load balancer's rotation without getting it restarted.
//
// Thread-safe; Start and Stop are called once each, from one thread.
#ifndef KAIGO_ENGINE_SERVER_STORE_READINESS_H_
#define KAIGO_ENGINE_SERVER_STORE_READINESS_H_

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "engine/log/json_logger.h"
#include "engine/server/health_service.h"
#include "engine/store/store.h"

namespace kaigo::engine {

// The grpc.health.v1 service name that answers readiness (the Helm chart's readinessProbe).
inline constexpr char kReadinessService[] = "kaigo.readiness";

class StoreReadiness {
 public:
  StoreReadiness(Store* store, HealthBoard* board, JsonLogger* logger,
                 absl::Duration interval = absl::Seconds(1))
      : store_(store), board_(board), logger_(logger), interval_(interval) {}
  ~StoreReadiness() { Stop(); }

  // Checks once now (so readiness is known when serving starts), then every interval.
  void Start();
  void Stop();

 private:
  void Check();

  Store* store_;
  HealthBoard* board_;
  JsonLogger* logger_;
  const absl::Duration interval_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool reachable_ = true;  // as last logged
  std::thread thread_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_SERVER_STORE_READINESS_H_

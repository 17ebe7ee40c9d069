// The engine's own grpc.health.v1.Health (Check and Watch), served on the API listener and on
// server.health_listen. gRPC's default health service answers INTERNAL to a request that does not
// parse; this one parses the bytes itself and answers INVALID_ARGUMENT, as every other method of
// the engine does.
//
// HealthBoard holds a serving status per service name, "" being the engine as a whole: NOT_SERVING
// until the server runs, SERVING once it does, NOT_SERVING again for good once it shuts down.
// A name nobody set is unknown: Check answers NOT_FOUND, Watch SERVICE_UNKNOWN and waits, as the
// protocol says. Another name with its own status is one Set call from whoever watches what it
// depends on; StoreReadiness (store_readiness.h) sets "kaigo.readiness" so, following the store:
//
//   board.Set(kReadinessService, store_ok ? HealthBoard::kServing : HealthBoard::kNotServing);
//
// Every HealthService (one per gRPC server: a service registers with one server) reads one board;
// a Watch stream hears each change of its name's status, and ends (OK) after NOT_SERVING once the
// board shuts down, so streams do not hold up the server's shutdown.
//
// Thread-safe.
#ifndef KAIGO_ENGINE_SERVER_HEALTH_SERVICE_H_
#define KAIGO_ENGINE_SERVER_HEALTH_SERVICE_H_

#include <map>
#include <mutex>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"

namespace kaigo::engine {

class HealthBoard {
 public:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;
  static constexpr Status kServing = grpc::health::v1::HealthCheckResponse::SERVING;
  static constexpr Status kNotServing = grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  static constexpr Status kUnknown = grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN;

  // Told of each change of the status of the name it watches, under the board's lock: it must
  // not block or call back into the board.
  class Watcher {
   public:
    virtual ~Watcher() = default;
    virtual void OnStatus(Status status, bool final) = 0;
  };

  HealthBoard();  // "" NOT_SERVING

  // Sets `service`'s status; ignored once shut down.
  void Set(const std::string& service, Status status);
  // Every name NOT_SERVING, for good; watchers get it as their last status.
  void Shutdown();
  // The status of `service`, kUnknown if none was set.
  Status Get(const std::string& service) const;

  // `watcher` hears `service`'s current status at once, then each change, until Unwatch.
  void Watch(const std::string& service, Watcher* watcher);
  void Unwatch(Watcher* watcher);

 private:
  mutable std::mutex mu_;
  std::map<std::string, Status> statuses_;
  std::multimap<std::string, Watcher*> watchers_;
  bool shut_down_ = false;
};

class HealthService : public grpc::health::v1::Health::WithRawCallbackMethod_Check<
                          grpc::health::v1::Health::WithRawCallbackMethod_Watch<
                              grpc::health::v1::Health::Service>> {
 public:
  explicit HealthService(HealthBoard* board) : board_(board) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Watch(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request) override;

 private:
  HealthBoard* board_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_SERVER_HEALTH_SERVICE_H_

// The engine's gRPC front: every plugin method through the callback generic service (and over
// HTTP with the Connect protocol on server.http_listen: connect_server.h), plus the admin service,
// grpc.health.v1 (the engine's own, health_service.h) and server reflection v1/v1alpha; TLS or
// mutual TLS; the Prometheus endpoint; apart, grpc.health.v1 alone in plain text for probes; and
// the admin socket (server.admin_socket): EngineAdminService on a Unix socket only its owner may
// open. The gRPC listeners share one grpc::ResourceQuota (server.max_memory_bytes,
// server.max_threads). One per engine process. Start and Shutdown are not thread-safe with each
// other; everything else is.
#ifndef KAIGO_ENGINE_SERVER_GRPC_SERVER_H_
#define KAIGO_ENGINE_SERVER_GRPC_SERVER_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/status.h"
#include "engine/engine.h"
#include "engine/metrics/metrics.h"
#include "engine/server/admin_service.h"
#include "engine/server/call_reactor.h"
#include "engine/server/connect_server.h"
#include "engine/server/health_service.h"
#include "engine/server/reflection_service.h"
#include "engine/server/store_readiness.h"

namespace kaigo::engine {

class GrpcServer {
 public:
  explicit GrpcServer(Engine* engine);
  ~GrpcServer();

  absl::Status Start();
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  int health_port() const { return health_port_; }
  int http_port() const { return http_port_; }  // server.http_listen's (Connect); 0 if none
  // Where the engine's serving statuses live: "" (liveness: the engine runs) and
  // kReadinessService (ready: it runs and its store answers).
  HealthBoard& health() { return health_board_; }
  void Shutdown();
  void Wait();

 private:
  absl::Status StartAdminSocket(const std::string& path);

  Engine* engine_;
  EngineGenericService generic_;
  std::unique_ptr<PluginMethodService> methods_;
  AdminService admin_;
  ReflectionV1 reflection_v1_;
  ReflectionV1Alpha reflection_v1alpha_;
  MetricsHttpServer metrics_http_;
  ConnectServer connect_;
  HealthBoard health_board_;
  HealthService health_;        // on the API listener
  HealthService probe_health_;  // on the health listener (a service registers with one server)
  StoreReadiness readiness_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> health_server_;
  AdminService local_admin_;
  std::unique_ptr<grpc::Server> admin_server_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  int health_port_ = 0;
  int http_port_ = 0;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_SERVER_GRPC_SERVER_H_

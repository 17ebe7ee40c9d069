// The engine's gRPC front: every plugin method through the callback generic service, plus the
// admin service, grpc.health.v1 and server reflection v1/v1alpha; TLS or mutual TLS; and the
// Prometheus endpoint. One per engine process.
// Start and Shutdown are not thread-safe with each other; everything else is.
#ifndef KAIGO_ENGINE_SERVER_GRPC_SERVER_H_
#define KAIGO_ENGINE_SERVER_GRPC_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/status.h"
#include "engine/engine.h"
#include "engine/metrics/metrics.h"
#include "engine/server/admin_service.h"
#include "engine/server/call_reactor.h"
#include "engine/server/reflection_service.h"

namespace kaigo::engine {

class GrpcServer {
 public:
  explicit GrpcServer(Engine* engine);
  ~GrpcServer();

  absl::Status Start();
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  void Shutdown();
  void Wait();

 private:
  Engine* engine_;
  EngineGenericService generic_;
  std::unique_ptr<PluginMethodService> methods_;
  AdminService admin_;
  ReflectionV1 reflection_v1_;
  ReflectionV1Alpha reflection_v1alpha_;
  MetricsHttpServer metrics_http_;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_SERVER_GRPC_SERVER_H_

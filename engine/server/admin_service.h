// EngineAdminService: list plugins and offices, reload the configuration, swap a plugin. On the API
// port callers need the engine_admin role, which a configuration without callers grants nobody; on
// the admin socket whoever could open the socket is admitted (its file permissions are the
// authentication). Reload and swap load images and start instances, so they run on a thread of
// their own, never on a gRPC thread. Thread-safe.
#ifndef KAIGO_ENGINE_SERVER_ADMIN_SERVICE_H_
#define KAIGO_ENGINE_SERVER_ADMIN_SERVICE_H_

#include "engine/engine.h"
#include "kaigo/v1/engine.grpc.pb.h"

namespace kaigo::engine {

class AdminService : public kaigo::v1::EngineAdminService::CallbackService {
 public:
  // `on_admin_socket`: served on the admin socket, not the API port.
  AdminService(Engine* engine, bool on_admin_socket)
      : engine_(engine), on_admin_socket_(on_admin_socket) {}

  grpc::ServerUnaryReactor* ListPlugins(grpc::CallbackServerContext* context,
                                        const kaigo::v1::ListPluginsRequest* request,
                                        kaigo::v1::ListPluginsResponse* response) override;
  grpc::ServerUnaryReactor* ListOffices(grpc::CallbackServerContext* context,
                                        const kaigo::v1::ListOfficesRequest* request,
                                        kaigo::v1::ListOfficesResponse* response) override;
  grpc::ServerUnaryReactor* ReloadConfig(grpc::CallbackServerContext* context,
                                         const kaigo::v1::ReloadConfigRequest* request,
                                         kaigo::v1::ReloadConfigResponse* response) override;
  grpc::ServerUnaryReactor* SwapPlugin(grpc::CallbackServerContext* context,
                                       const kaigo::v1::SwapPluginRequest* request,
                                       kaigo::v1::SwapPluginResponse* response) override;

 private:
  // Checks the caller's role; on refusal finishes the reactor and returns it, else nullptr.
  grpc::ServerUnaryReactor* Refused(grpc::CallbackServerContext* context);
  absl::Status Admit(const grpc::CallbackServerContext& context) const;
  Engine* engine_;
  bool on_admin_socket_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_SERVER_ADMIN_SERVICE_H_

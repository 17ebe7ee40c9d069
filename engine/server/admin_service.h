// EngineAdminService: list plugins and offices, reload the configuration, swap a plugin. On the API
// port callers need the engine_admin role, which a configuration without callers grants nobody; on
// the admin socket whoever could open the socket is admitted (its file permissions are the
// authentication). Reload and swap load images and start instances, so they run on a thread of
// their own, never on a gRPC thread. Thread-safe.
#ifndef KAIGO_ENGINE_SERVER_ADMIN_SERVICE_H_
#define KAIGO_ENGINE_SERVER_ADMIN_SERVICE_H_

#include <functional>

#include "engine/engine.h"
#include "kaigo/v1/engine.grpc.pb.h"

namespace kaigo::engine {

// Registered raw (raw_message.h): a request that does not parse is INVALID_ARGUMENT.
class AdminService : public kaigo::v1::EngineAdminService::WithRawCallbackMethod_ListPlugins<
                         kaigo::v1::EngineAdminService::WithRawCallbackMethod_ListOffices<
                             kaigo::v1::EngineAdminService::WithRawCallbackMethod_ReloadConfig<
                                 kaigo::v1::EngineAdminService::WithRawCallbackMethod_SwapPlugin<
                                     kaigo::v1::EngineAdminService::Service>>>> {
 public:
  // `on_admin_socket`: served on the admin socket, not the API port.
  AdminService(Engine* engine, bool on_admin_socket)
      : engine_(engine), on_admin_socket_(on_admin_socket) {}

  grpc::ServerUnaryReactor* ListPlugins(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListOffices(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ReloadConfig(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* SwapPlugin(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;

 private:
  // Admits the caller, parses the request as Request and answers with `work`'s result — on a
  // thread of its own when `detached` (work that loads images or starts instances).
  template <class Request, class Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                                  bool detached,
                                  std::function<absl::StatusOr<Response>(const Request&)> work);
  absl::Status Admit(const grpc::CallbackServerContext& context) const;
  Engine* engine_;
  bool on_admin_socket_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_SERVER_ADMIN_SERVICE_H_

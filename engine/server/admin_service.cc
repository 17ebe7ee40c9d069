#include "engine/server/admin_service.h"

#include <algorithm>
#include <thread>

#include "engine/server/call_reactor.h"

namespace kaigo::engine {

namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// Runs `work` on its own thread and finishes the reactor with its result.
template <class Response>
grpc::ServerUnaryReactor* RunDetached(grpc::CallbackServerContext* context, Response* response,
                                      std::function<absl::StatusOr<Response>()> work) {
  auto* reactor = context->DefaultReactor();
  std::thread([reactor, response, work = std::move(work)] {
    auto result = work();
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpc(result.status()));
  }).detach();
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::Refused(grpc::CallbackServerContext* context) {
  absl::Status status = Admit(*context);
  if (status.ok()) return nullptr;
  auto* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpc(status));
  return reactor;
}

absl::Status AdminService::Admit(const grpc::CallbackServerContext& context) const {
  auto table = engine_->table();
  if (table == nullptr) return absl::UnavailableError("the engine is shutting down");
  if (on_admin_socket_) return absl::OkStatus();
  if (table->open_access) {
    return absl::PermissionDeniedError(
        "an engine without callers serves no admin method on its API port; use the admin "
        "socket (server.admin_socket, `kaigo-bridge admin …`)");
  }
  auto caller = CallerIdentity(*table, context);
  if (!caller.ok()) return caller.status();
  auto roles = table->ActingRoles(*caller, MetadataValue(context, "x-kaigo-role"));
  if (!roles.ok()) return roles.status();
  if (std::find(roles->begin(), roles->end(), "engine_admin") == roles->end()) {
    return absl::PermissionDeniedError("caller '" + *caller + "' lacks the engine_admin role");
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* AdminService::ListPlugins(grpc::CallbackServerContext* context,
                                                    const kaigo::v1::ListPluginsRequest*,
                                                    kaigo::v1::ListPluginsResponse* response) {
  if (auto* refused = Refused(context)) return refused;
  *response = engine_->ListPlugins();
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::ListOffices(grpc::CallbackServerContext* context,
                                                    const kaigo::v1::ListOfficesRequest*,
                                                    kaigo::v1::ListOfficesResponse* response) {
  if (auto* refused = Refused(context)) return refused;
  *response = engine_->ListOffices();
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::ReloadConfig(grpc::CallbackServerContext* context,
                                                     const kaigo::v1::ReloadConfigRequest*,
                                                     kaigo::v1::ReloadConfigResponse* response) {
  if (auto* refused = Refused(context)) return refused;
  return RunDetached<kaigo::v1::ReloadConfigResponse>(context, response,
                                                      [this] { return engine_->Reload(); });
}

grpc::ServerUnaryReactor* AdminService::SwapPlugin(grpc::CallbackServerContext* context,
                                                   const kaigo::v1::SwapPluginRequest* request,
                                                   kaigo::v1::SwapPluginResponse* response) {
  if (auto* refused = Refused(context)) return refused;
  kaigo::v1::SwapPluginRequest copy = *request;
  return RunDetached<kaigo::v1::SwapPluginResponse>(context, response,
                                                    [this, copy] { return engine_->Swap(copy); });
}

}  // namespace kaigo::engine

#include "engine/server/admin_service.h"

#include <algorithm>
#include <thread>

#include "engine/server/call_reactor.h"
#include "engine/server/raw_message.h"

namespace kaigo::engine {

namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace

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

template <class Request, class Response>
grpc::ServerUnaryReactor* AdminService::Serve(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response, bool detached,
    std::function<absl::StatusOr<Response>(const Request&)> work) {
  auto* reactor = context->DefaultReactor();
  if (absl::Status admitted = Admit(*context); !admitted.ok()) {
    reactor->Finish(ToGrpc(admitted));
    return reactor;
  }
  Request parsed;
  if (!ParseRawRequest(request, &parsed)) {
    reactor->Finish(NotARequest(parsed));
    return reactor;
  }
  auto answer = [reactor, response, work = std::move(work), parsed = std::move(parsed)] {
    absl::StatusOr<Response> result = work(parsed);
    if (result.ok()) *response = SerializeRaw(*result);
    reactor->Finish(ToGrpc(result.status()));
  };
  if (detached) {
    std::thread(std::move(answer)).detach();
  } else {
    answer();
  }
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::ListPlugins(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return Serve<kaigo::v1::ListPluginsRequest, kaigo::v1::ListPluginsResponse>(
      context, request, response, false,
      [this](const kaigo::v1::ListPluginsRequest& r) { return engine_->ListPlugins(r); });
}

grpc::ServerUnaryReactor* AdminService::ListOffices(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return Serve<kaigo::v1::ListOfficesRequest, kaigo::v1::ListOfficesResponse>(
      context, request, response, false,
      [this](const kaigo::v1::ListOfficesRequest& r) { return engine_->ListOffices(r); });
}

grpc::ServerUnaryReactor* AdminService::ReloadConfig(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  return Serve<kaigo::v1::ReloadConfigRequest, kaigo::v1::ReloadConfigResponse>(
      context, request, response, true,
      [this](const kaigo::v1::ReloadConfigRequest&) { return engine_->Reload(); });
}

grpc::ServerUnaryReactor* AdminService::SwapPlugin(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request,
                                                   grpc::ByteBuffer* response) {
  return Serve<kaigo::v1::SwapPluginRequest, kaigo::v1::SwapPluginResponse>(
      context, request, response, true,
      [this](const kaigo::v1::SwapPluginRequest& r) { return engine_->Swap(r); });
}

}  // namespace kaigo::engine

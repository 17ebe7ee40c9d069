#include "engine/main/admin_command.h"

#include <grpcpp/grpcpp.h>

#include <iostream>

#include "engine/config/config_loader.h"
#include "kaigo/sdk/pagination.h"
#include "kaigo/v1/engine.grpc.pb.h"

namespace kaigo::engine {

namespace {

int Usage() {
  std::cerr << "usage: kaigo-bridge admin --config FILE list-plugins | list-offices | reload | "
               "swap NAME PATH [SHA256]\n";
  return 2;
}

int Report(const grpc::Status& status) {
  if (status.ok()) return 0;
  std::cerr << "refused: " << status.error_code() << " " << status.error_message() << "\n";
  return 1;
}

// Asks for every page of a List, each in a call of its own, and hands each page to `each`.
template <class Req, class Resp, class Call, class Each>
grpc::Status EveryPage(Call call, Each each) {
  Req request;
  request.set_page_size(sdk::kMaxPageSize);
  for (;;) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    Resp page;
    grpc::Status status = call(&context, request, &page);
    if (!status.ok()) return status;
    each(page);
    if (page.next_page_token().empty()) return status;
    request.set_page_token(page.next_page_token());
  }
}

}  // namespace

int AdminCommand(const std::vector<std::string>& args) {
  if (args.size() < 3 || args[0] != "--config") return Usage();
  ConfigErrors errors;
  LoadedConfig loaded = LoadConfig(args[1], &errors);
  if (!loaded.parsed) {
    for (const auto& e : errors.list()) std::cerr << e << "\n";
    return 1;
  }
  if (loaded.config.server().admin_socket().empty()) {
    std::cerr << args[1] << ": server.admin_socket is not set: this engine has no admin socket\n";
    return 1;
  }
  std::string socket = ResolvePath(loaded.dir, loaded.config.server().admin_socket());
  auto stub = kaigo::v1::EngineAdminService::NewStub(
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
  const std::string& command = args[2];
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (command == "list-plugins" && args.size() == 3) {
    return Report(EveryPage<kaigo::v1::ListPluginsRequest, kaigo::v1::ListPluginsResponse>(
        [&](auto* c, const auto& req, auto* resp) { return stub->ListPlugins(c, req, resp); },
        [](const kaigo::v1::ListPluginsResponse& page) {
          for (const auto& p : page.plugins()) {
            std::cout << p.name() << " " << p.version() << " ("
                      << kaigo::v1::PluginMaturity_Name(p.maturity()) << ") " << p.path() << "\n";
          }
        }));
  }
  if (command == "list-offices" && args.size() == 3) {
    return Report(EveryPage<kaigo::v1::ListOfficesRequest, kaigo::v1::ListOfficesResponse>(
        [&](auto* c, const auto& req, auto* resp) { return stub->ListOffices(c, req, resp); },
        [](const kaigo::v1::ListOfficesResponse& page) {
          for (const auto& o : page.offices()) {
            std::cout << o.number() << " " << o.name() << "\n";
            for (const auto& b : o.bindings())
              std::cout << "  " << b.service() << " → " << b.plugin() << "\n";
          }
        }));
  }
  if (command == "reload" && args.size() == 3) {
    kaigo::v1::ReloadConfigResponse response;
    grpc::Status status = stub->ReloadConfig(&context, {}, &response);
    if (status.ok()) std::cout << response.DebugString();
    return Report(status);
  }
  if (command == "swap" && (args.size() == 5 || args.size() == 6)) {
    kaigo::v1::SwapPluginRequest request;
    request.set_name(args[3]);
    request.set_path(args[4]);
    if (args.size() == 6) request.set_sha256(args[5]);
    kaigo::v1::SwapPluginResponse response;
    grpc::Status status = stub->SwapPlugin(&context, request, &response);
    if (status.ok()) std::cout << response.DebugString();
    return Report(status);
  }
  return Usage();
}

}  // namespace kaigo::engine

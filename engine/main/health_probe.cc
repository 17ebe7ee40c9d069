#include "engine/main/health_probe.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "engine/config/config_loader.h"
#include "engine/main/flags.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace kaigo::engine {

namespace {

// The address to ask for `listen`: a wildcard host is reached on loopback.
std::string ProbeAddress(const std::string& listen) {
  std::string host;
  int port = 0;
  if (!ParseHostPort(listen, &host, &port)) return "";
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::" || host == "[::]") host = "[::1]";
  return host + ":" + std::to_string(port);
}

int ProbeUsage() {
  std::cerr << "usage: kaigo-bridge health-probe (--config FILE | --address HOST:PORT) "
               "[--service NAME] [--timeout-ms N]\n";
  return 2;
}

}  // namespace

int HealthProbe(const std::vector<std::string>& args) {
  std::string address = Flag(args, "--address");
  if (std::string config = Flag(args, "--config"); !config.empty()) {
    ConfigErrors errors;
    LoadedConfig loaded = LoadConfig(config, &errors);
    if (!loaded.parsed) {
      for (const auto& e : errors.list()) std::cerr << e << "\n";
      return 1;
    }
    if (loaded.config.server().health_listen().empty()) {
      std::cerr << config
                << ": server.health_listen is not set: the engine serves no plain-text health "
                   "listener to ask\n";
      return 1;
    }
    address = ProbeAddress(loaded.config.server().health_listen());
  }
  if (address.empty()) return ProbeUsage();
  int timeout_ms = 3000;
  if (std::string t = Flag(args, "--timeout-ms"); !t.empty()) {
    timeout_ms = atoi(t.c_str());
    if (timeout_ms <= 0) return ProbeUsage();
  }
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(Flag(args, "--service"));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    std::cerr << "health " << address << ": " << status.error_message() << "\n";
    return 1;
  }
  std::string state = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  std::cout << state << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

}  // namespace kaigo::engine

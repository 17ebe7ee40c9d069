#include "engine/server/grpc_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "engine/config/config_loader.h"

namespace kaigo::engine {

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const kaigo::v1::ServerConfig& server, const std::string& dir) {
  if (server.insecure_loopback()) return grpc::InsecureServerCredentials();
  auto resolve = [&](const std::string& p) { return ResolvePath(dir, p); };
  auto cert = ReadFile(resolve(server.tls().cert_file()));
  auto key = ReadFile(resolve(server.tls().key_file()));
  if (!cert.ok()) return cert.status();
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  options.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  if (!server.tls().client_ca_file().empty()) {
    auto ca = ReadFile(resolve(server.tls().client_ca_file()));
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    options.client_certificate_request =
        server.tls().require_client_certificate()
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace

GrpcServer::GrpcServer(Engine* engine)
    : engine_(engine),
      generic_(engine),
      admin_(engine, /*on_admin_socket=*/false),
      reflection_v1_(engine),
      reflection_v1alpha_(engine),
      metrics_http_(&engine->metrics()),
      connect_(engine),
      health_(&health_board_),
      probe_health_(&health_board_),
      readiness_(&engine->store(), &health_board_, &engine->logger()),
      local_admin_(engine, /*on_admin_socket=*/true) {}

GrpcServer::~GrpcServer() { Shutdown(); }

absl::Status GrpcServer::Start() {
  const auto& server = engine_->running_config().server();
  auto credentials = Credentials(server, engine_->config_dir());
  if (!credentials.ok()) return credentials.status();
  grpc::ResourceQuota quota("kaigo-bridge");
  quota.Resize(server.max_memory_bytes() > 0 ? server.max_memory_bytes() : size_t{1} << 30);
  if (server.max_threads() > 0) quota.SetMaxThreads(server.max_threads());
  grpc::ServerBuilder builder;
  builder.SetResourceQuota(quota);
  builder.AddListeningPort(server.listen(), *credentials, &grpc_port_);
  int max_message = server.max_message_bytes() > 0 ? server.max_message_bytes() : 32 << 20;
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  builder.RegisterService(&health_);
  builder.RegisterService(&admin_);
  builder.RegisterService(&reflection_v1_);
  builder.RegisterService(&reflection_v1alpha_);
  methods_ = std::make_unique<PluginMethodService>(engine_, *engine_->table());
  if (!methods_->empty()) builder.RegisterService(methods_.get());
  builder.RegisterCallbackGenericService(&generic_);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    return absl::UnavailableError("cannot listen for gRPC on " + server.listen());
  }
  if (!server.metrics_listen().empty()) {
    std::string host;
    int port = 0;
    ParseHostPort(server.metrics_listen(), &host, &port);
    auto bound = metrics_http_.Start(host, port);
    if (!bound.ok()) return bound.status();
    metrics_port_ = *bound;
  }
  if (!server.http_listen().empty()) {
    auto bound = connect_.Start();
    if (!bound.ok()) return bound.status();
    http_port_ = *bound;
  }
  if (!server.health_listen().empty()) {
    grpc::ServerBuilder health;
    health.SetResourceQuota(quota);
    health.AddListeningPort(server.health_listen(), grpc::InsecureServerCredentials(),
                            &health_port_);
    health.RegisterService(&probe_health_);
    health_server_ = health.BuildAndStart();
    if (health_server_ == nullptr || health_port_ == 0) {
      return absl::UnavailableError("cannot listen for health probes on " + server.health_listen());
    }
  }
  if (!server.admin_socket().empty()) {
    if (absl::Status s =
            StartAdminSocket(ResolvePath(engine_->config_dir(), server.admin_socket()));
        !s.ok()) {
      return s;
    }
  }
  readiness_.Start();
  health_board_.Set("", HealthBoard::kServing);
  engine_->logger().Info("serving", {{"grpc", std::to_string(grpc_port_)},
                                     {"metrics", std::to_string(metrics_port_)},
                                     {"health", std::to_string(health_port_)},
                                     {"http", std::to_string(http_port_)},
                                     {"tls", server.insecure_loopback() ? "off" : "on"}});
  return absl::OkStatus();
}

absl::Status GrpcServer::StartAdminSocket(const std::string& path) {
  unlink(path.c_str());  // a socket left by an engine that did not shut down cleanly
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  builder.RegisterService(&local_admin_);
  // The socket is made owner-only from the start: its permissions are the admin's authentication.
  mode_t previous = umask(0177);
  admin_server_ = builder.BuildAndStart();
  umask(previous);
  if (admin_server_ == nullptr || chmod(path.c_str(), 0600) != 0) {
    return absl::UnavailableError("cannot serve the admin socket " + path);
  }
  return absl::OkStatus();
}

void GrpcServer::Shutdown() {
  // Probes see NOT_SERVING while calls in flight drain, so no new ones are routed here.
  health_board_.Shutdown();
  readiness_.Stop();
  connect_.Stop();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_.reset();
  }
  if (health_server_ != nullptr) {
    health_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    health_server_.reset();
  }
  if (admin_server_ != nullptr) {
    admin_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    admin_server_.reset();
  }
  metrics_http_.Stop();
}

void GrpcServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace kaigo::engine

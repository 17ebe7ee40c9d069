#include "remote_engine.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "in_tree_manifest.h"
#include "kaigo/plugins/v1/remote_engine_config.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/loopback.h"

namespace kaigo::plugins::remote {

namespace {

using kaigo::plugins::v1::RemoteEngineConfig;

// The concerns an office may bind to another engine.
constexpr const char* kServices[] = {
    "kaigo.v1.OtpService",           "kaigo.v1.PortalRegistrationService",
    "kaigo.v1.CardReaderService",    "kaigo.v1.QualificationService",
    "kaigo.v1.CertificationService", "kaigo.v1.CarePlanExchangeService",
    "kaigo.v1.SubsidyService",
};

grpc::ByteBuffer ToBuffer(std::string_view bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// The other engine's status with its details (grpc-status-details-bin), so a field violation or
// a retry delay reaches the caller as the plugin there gave it.
absl::Status ToAbsl(const grpc::Status& s) {
  return sdk::WithSerializedDetails(
      absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message()),
      s.error_details());
}

// "host:port" whose host is a loopback address, parsed (kaigo/sdk/loopback.h): "127.evil.example"
// is a name, not loopback.
bool IsLoopback(const std::string& target) {
  size_t colon = target.rfind(':');
  return colon != std::string::npos && IsLoopbackHost(target.substr(0, colon));
}

// One server-streaming call passed on: the request written once, every message read written
// back to the local caller. Deletes itself when done.
class StreamForward : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamForward(std::unique_ptr<grpc::ClientContext> context, std::string_view request,
                std::shared_ptr<sdk::RawCall> call)
      : context_(std::move(context)), request_(ToBuffer(request)), call_(std::move(call)) {}

  void Start(grpc::TemplatedGenericStub<grpc::ByteBuffer, grpc::ByteBuffer>& stub,
             const std::string& method) {
    grpc::ClientContext* context = context_.get();
    call_->OnCancel([context] { context->TryCancel(); });
    stub.PrepareBidiStreamingCall(context, method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (!call_->Write(FromBuffer(response_))) {
      context_->TryCancel();
      return;
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    call_->Finish(ToAbsl(status));
    delete this;
  }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::shared_ptr<sdk::RawCall> call_;
};

class RemoteEngine : public sdk::Instance {
 public:
  RemoteEngine(sdk::HostServices host, std::string office, RemoteEngineConfig config,
               std::shared_ptr<grpc::Channel> channel)
      : Instance(std::move(host)),
        office_(config.remote_office().empty() ? std::move(office) : config.remote_office()),
        timeout_ms_(config.timeout_ms() > 0 ? config.timeout_ms() : 30000),
        stub_(std::move(channel)) {
    for (const char* name : kServices) {
      const auto* service = sdk::FindService(name);
      for (int i = 0; i < service->method_count(); ++i) {
        const auto* m = service->method(i);
        std::string path = absl::StrCat("/", service->full_name(), "/", m->name());
        bool streaming = m->server_streaming();
        Forward(path, [this, path, streaming](std::string_view request,
                                              std::shared_ptr<sdk::RawCall> call) {
          auto context = Context(*call);
          if (streaming) {
            (new StreamForward(std::move(context), request, std::move(call)))->Start(stub_, path);
          } else {
            Unary(path, std::move(context), request, std::move(call));
          }
        });
      }
    }
  }

 private:
  std::unique_ptr<grpc::ClientContext> Context(const sdk::RawCall& call) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("x-kaigo-office", office_);
    // The person's caller and roles, for the edge to admit and audit (it trusts them only from
    // callers it configured as delegates).
    context->AddMetadata("x-kaigo-on-behalf-of", call.info().caller);
    context->AddMetadata("x-kaigo-on-behalf-of-roles", absl::StrJoin(call.info().roles, ","));
    if (!call.info().request_id.empty()) {
      context->AddMetadata("x-request-id", call.info().request_id);
    }
    auto deadline = call.info().deadline_unix_ms > 0
                        ? std::chrono::system_clock::time_point(
                              std::chrono::milliseconds(call.info().deadline_unix_ms))
                        : std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms_);
    context->set_deadline(deadline);
    return context;
  }

  void Unary(const std::string& path, std::unique_ptr<grpc::ClientContext> context,
             std::string_view request, std::shared_ptr<sdk::RawCall> call) {
    struct Pending {
      std::unique_ptr<grpc::ClientContext> context;
      grpc::ByteBuffer request;
      grpc::ByteBuffer response;
    };
    auto* pending = new Pending{std::move(context), ToBuffer(request), {}};
    grpc::ClientContext* raw_context = pending->context.get();
    call->OnCancel([raw_context] { raw_context->TryCancel(); });
    stub_.UnaryCall(raw_context, path, grpc::StubOptions(), &pending->request, &pending->response,
                    [pending, call](grpc::Status status) {
                      call->Finish(ToAbsl(status),
                                   status.ok() ? FromBuffer(pending->response) : std::string());
                      delete pending;
                    });
  }

  const std::string office_;
  const int timeout_ms_;
  grpc::TemplatedGenericStub<grpc::ByteBuffer, grpc::ByteBuffer> stub_;
};

}  // namespace

sdk::PluginDefinition Define() {
  sdk::PluginManifest m = InTreeManifest("remote_engine");
  m.security_posture =
      "Passes calls for one office's concern to another kaigo-bridge engine over gRPC with TLS "
      "and this engine's client certificate (plaintext only to loopback); reads no message; "
      "keeps nothing.";
  m.services.assign(std::begin(kServices), std::end(kServices));
  auto create = [](sdk::HostServices host, const sdk::InstanceContext& context,
                   RemoteEngineConfig config) -> absl::StatusOr<std::unique_ptr<sdk::Instance>> {
    if (config.target().empty()) {
      return absl::InvalidArgumentError("target: host:port of the other engine is required");
    }
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    if (config.insecure_loopback()) {
      if (!IsLoopback(config.target())) {
        return absl::InvalidArgumentError(
            "insecure_loopback: plaintext is allowed to a loopback target only");
      }
      credentials = grpc::InsecureChannelCredentials();
    } else {
      grpc::SslCredentialsOptions tls;
      for (auto [name, out] : {std::pair{config.ca_secret(), &tls.pem_root_certs},
                               std::pair{config.certificate_secret(), &tls.pem_cert_chain},
                               std::pair{config.key_secret(), &tls.pem_private_key}}) {
        if (name.empty()) {
          return absl::InvalidArgumentError(
              "ca_secret, certificate_secret and key_secret: required for TLS");
        }
        auto value = host.Secret(name);
        if (!value.ok()) return value.status();
        *out = *std::move(value);
      }
      credentials = grpc::SslCredentials(tls);
    }
    auto channel = grpc::CreateChannel(config.target(), credentials);
    return std::make_unique<RemoteEngine>(std::move(host), context.office, std::move(config),
                                          std::move(channel));
  };
  return sdk::DefinePlugin<RemoteEngineConfig>(std::move(m), std::move(create));
}

}  // namespace kaigo::plugins::remote

// probe — a test plugin that exercises the whole ABI: unary, server streaming, cancellation and a
// call to another concern through the host.
#include <atomic>

#include "echo_handler.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/plugin_definition.h"
#include "kaigo/test/v1/probe.pb.h"
#include "kaigo/v1/otp.pb.h"

namespace {

namespace t = kaigo::test::v1;
using kaigo::sdk::ServerStream;
using kaigo::sdk::UnaryCall;

class Probe : public kaigo::sdk::Instance {
 public:
  explicit Probe(kaigo::sdk::HostServices host) : Instance(std::move(host)) {
    Unary<t::EchoRequest, t::EchoResponse>(
        "/kaigo.test.v1.ProbeService/Echo",
        [](const t::EchoRequest& req, std::shared_ptr<UnaryCall<t::EchoResponse>> call) {
          t::EchoResponse response;
          kaigo::test::AnswerEcho(req, call->info().office, call->info().caller, call->info().roles,
                                  &response);
          call->Finish(response);
        });
    ServerStreaming<t::CountRequest, t::CountResponse>(
        "/kaigo.test.v1.ProbeService/Count",
        [this](const t::CountRequest& req, std::shared_ptr<ServerStream<t::CountResponse>> call) {
          if (req.count() < 0 || req.count() > 100000) {
            call->Finish(kaigo::sdk::InvalidField("count", "COUNT_RANGE", "must be 0 to 100000",
                                                  "件数は0から100000までです"));
            return;
          }
          Workers().Submit([req, call] {
            for (int i = 0; i < req.count(); ++i) {
              t::CountResponse m;
              m.set_index(i);
              if (!call->Write(m)) break;
            }
            call->Finish(call->IsCancelled() ? absl::CancelledError("cancelled")
                                             : absl::OkStatus());
          });
        });
    Unary<t::RefuseRequest, t::RefuseResponse>(
        "/kaigo.test.v1.ProbeService/Refuse",
        [](const t::RefuseRequest& req, std::shared_ptr<UnaryCall<t::RefuseResponse>> call) {
          std::vector<kaigo::sdk::PreconditionViolation> violations;
          for (int i = 0; i < req.violations() && i < 100000; ++i) {
            violations.push_back({"PROBE_RULE", "row " + std::to_string(i + 1), "refused"});
          }
          absl::Status refused = absl::FailedPreconditionError("the probe refuses");
          refused = kaigo::sdk::WithPreconditionFailure(std::move(refused), violations);
          refused =
              kaigo::sdk::WithErrorInfo(std::move(refused), "PROBE_REFUSED", {{"tries_left", "2"}});
          refused = kaigo::sdk::WithRetryDelay(std::move(refused), absl::Seconds(3));
          refused = kaigo::sdk::WithStaffMessage(std::move(refused), "プローブが断りました");
          call->Finish(refused);
        });
    Unary<t::HangRequest, t::HangResponse>(
        "/kaigo.test.v1.ProbeService/Hang",
        [this](const t::HangRequest&, std::shared_ptr<UnaryCall<t::HangResponse>> call) {
          call->OnCancel([this, call] {
            cancelled_.fetch_add(1);
            call->Finish(absl::CancelledError("the caller cancelled"));
          });
        });
    Unary<t::CancellationsRequest, t::CancellationsResponse>(
        "/kaigo.test.v1.ProbeService/Cancellations",
        [this](const t::CancellationsRequest&,
               std::shared_ptr<UnaryCall<t::CancellationsResponse>> call) {
          t::CancellationsResponse response;
          response.set_cancelled(cancelled_.load());
          call->Finish(response);
        });
    Unary<t::AskOtpRequest, t::AskOtpResponse>(
        "/kaigo.test.v1.ProbeService/AskOtp",
        [this](const t::AskOtpRequest& ask, std::shared_ptr<UnaryCall<t::AskOtpResponse>> call) {
          kaigo::v1::RequestOtpRequest request;
          request.set_purpose(kaigo::v1::OTP_PURPOSE_PORTAL_LOGIN);
          request.set_recipient_hint("probe");
          auto outgoing = this->host().CallUnary<kaigo::v1::RequestOtpResponse>(
              call.get(), ask.method().empty() ? "/kaigo.v1.OtpService/RequestOtp" : ask.method(),
              request, [call](absl::StatusOr<kaigo::v1::RequestOtpResponse> reply) {
                if (!reply.ok()) {
                  call->Finish(reply.status());
                  return;
                }
                t::AskOtpResponse response;
                response.set_code(reply->code());
                call->Finish(response);
              });
          call->OnCancel([outgoing] { outgoing->Cancel(); });
        });
  }

 private:
  std::atomic<int64_t> cancelled_{0};
};

kaigo::sdk::PluginDefinition Define() {
  kaigo::sdk::PluginDefinition d;
  d.name = "probe";
  d.version = "0.1.0";
  d.vendor = "kaigo-bridge tests";
  d.status = "experimental";
  d.security_posture = "Test only. Talks to nothing but the host.";
  d.services = {kaigo::sdk::FindService("kaigo.test.v1.ProbeService")};
  d.calls = {"/kaigo.v1.OtpService/RequestOtp"};
  d.create = [](kaigo::sdk::HostServices host, const kaigo::sdk::InstanceContext&,
                std::string_view) -> absl::StatusOr<std::unique_ptr<kaigo::sdk::Instance>> {
    return std::make_unique<Probe>(std::move(host));
  };
  return d;
}

}  // namespace

KAIGO_PLUGIN(Define)

// Edge + hosted: the hosted engine serves an office's OTP concern by passing it to the office's
// edge engine (remote_engine, configuration only) over mutual TLS. Unary calls, a server stream
// and cancellation cross both engines; the edge's refusals come back with their codes.
#include <gtest/gtest.h>

#include <future>

#include "kaigo/v1/otp.grpc.pb.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;

constexpr char kOffice[] = "1371000017";
constexpr char kOther[] = "1371000025";  // bound on the hosted engine, not granted by the edge

class EdgeHostedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ASSERT_TRUE(MakeTestCertificates(dir_->path(), {"hosted-engine", "office-screen"}).ok());
    std::string plugins = PluginDir();
    std::string edge =
        "server:\n  listen: 127.0.0.1:0\n  tls:\n    cert_file: server.crt\n"
        "    key_file: server.key\n    client_ca_file: ca.crt\n"
        "    require_client_certificate: true\n"
        "plugins:\n  - {name: otp_relay, path: " +
        plugins +
        "/otp_relay.so}\n"
        "offices:\n"
        "  - number: \"" +
        std::string(kOffice) +
        "\"\n"
        "    concerns:\n      - {service: kaigo.v1.OtpService, plugin: otp_relay}\n"
        "  - number: \"" +
        std::string(kOther) +
        "\"\n"
        "    concerns:\n      - {service: kaigo.v1.OtpService, plugin: otp_relay}\n"
        "callers:\n"
        "  - {identity: hosted-engine, offices: [\"" +
        std::string(kOffice) +
        "\"], roles: [care_manager, office_admin], delegate: true}\n"
        "  - {identity: office-screen, offices: [\"" +
        std::string(kOffice) +
        "\"], roles: [office_admin]}\n"
        // RequestOtp is for other concerns only; here the test stands for the concern that asks.
        "access:\n  - {method: /kaigo.v1.OtpService/RequestOtp, policy: {roles: [office_admin]}}\n"
        "store:\n  sqlite_path: edge.db\nlog:\n  access_log: true\n";
    auto edge_engine = EngineProcess::Start(dir_->Write("edge.yaml", edge));
    ASSERT_TRUE(edge_engine.ok()) << edge_engine.status();
    edge_ = edge_engine->release();

    auto office = [&](const char* number) {
      return "  - number: \"" + std::string(number) +
             "\"\n    concerns:\n"
             "      - service: kaigo.v1.OtpService\n        plugin: remote_engine\n"
             "        settings:\n          target: 127.0.0.1:" +
             std::to_string(edge_->grpc_port()) +
             "\n          ca_secret: edge_ca\n          certificate_secret: engine_certificate\n"
             "          key_secret: engine_key\n"
             "    secrets:\n"
             "      - {name: edge_ca, ref: {file: ca.crt}}\n"
             "      - {name: engine_certificate, ref: {file: hosted-engine.crt}}\n"
             "      - {name: engine_key, ref: {file: hosted-engine.key}}\n";
    };
    std::string hosted =
        "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n"
        "plugins:\n  - {name: remote_engine, path: " +
        plugins +
        "/remote_engine.so}\n"
        "offices:\n" +
        office(kOffice) + office(kOther) +
        "access:\n  - {method: /kaigo.v1.OtpService/RequestOtp, policy: {roles: [office_admin]}}\n"
        "store:\n  sqlite_path: hosted.db\n";
    auto hosted_engine = EngineProcess::Start(dir_->Write("hosted.yaml", hosted));
    ASSERT_TRUE(hosted_engine.ok()) << hosted_engine.status();
    hosted_ = hosted_engine->release();
  }
  static void TearDownTestSuite() {
    delete hosted_;
    delete edge_;
    delete dir_;
  }

  // The edge engine as its own operator screen at the office would reach it.
  static std::unique_ptr<v1::OtpService::Stub> EdgeDirect() {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(dir_->path() + "/ca.crt");
    options.pem_private_key = ReadFile(dir_->path() + "/hosted-engine.key");
    options.pem_cert_chain = ReadFile(dir_->path() + "/hosted-engine.crt");
    return v1::OtpService::NewStub(
        grpc::CreateChannel(edge_->target(), grpc::SslCredentials(options)));
  }

  static TempDir* dir_;
  static EngineProcess* edge_;
  static EngineProcess* hosted_;
};

TempDir* EdgeHostedTest::dir_ = nullptr;
EngineProcess* EdgeHostedTest::edge_ = nullptr;
EngineProcess* EdgeHostedTest::hosted_ = nullptr;

TEST_F(EdgeHostedTest, TheHostedEngineReachesTheOfficesConcernOnItsEdgeEngine) {
  auto hosted = v1::OtpService::NewStub(InsecureChannel(hosted_->target()));
  // A watcher through the hosted engine: a server stream across both engines.
  grpc::ClientContext watch_context;
  watch_context.AddMetadata("x-kaigo-office", kOffice);
  auto watch = hosted->WatchPending(&watch_context, v1::WatchPendingRequest());

  auto waiting = std::async(std::launch::async, [&] {
    v1::RequestOtpRequest request;
    request.set_purpose(v1::OTP_PURPOSE_ECLAIM_REGISTRATION);
    request.mutable_timeout()->set_seconds(20);
    v1::RequestOtpResponse response;
    grpc::Status status =
        hosted->RequestOtp(Context(kOffice, absl::Seconds(25)).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.code();
  });

  v1::WatchPendingResponse changed;
  ASSERT_TRUE(watch->Read(&changed));  // the new request, seen through the hosted engine
  const v1::PendingOtpEvent& event = changed.event();
  std::string id = event.otp().otp_id();
  ASSERT_FALSE(id.empty()) << event.DebugString();

  // It lives on the edge engine: the office's own screen there sees it too.
  v1::ListPendingResponse at_edge;
  ASSERT_TRUE(EdgeDirect()->ListPending(Context(kOffice).get(), {}, &at_edge).ok());
  ASSERT_EQ(at_edge.pending_size(), 1);
  EXPECT_EQ(at_edge.pending(0).otp_id(), id);

  v1::ProvideOtpRequest provide;
  provide.set_otp_id(id);
  provide.set_code("482913");
  v1::ProvideOtpResponse provided;
  grpc::Status status = hosted->ProvideOtp(Context(kOffice).get(), provide, &provided);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(waiting.get(), "482913");

  // A typo is refused by the edge's plugin, with its code and words, through the hosted engine.
  provide.set_code("48x");
  status = hosted->ProvideOtp(Context(kOffice).get(), provide, &provided);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("code:", 0), 0u) << status.error_message();

  watch_context.TryCancel();  // cancellation crosses both engines
  while (watch->Read(&changed)) {
  }
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(EdgeHostedTest, TheEdgeSeesThePersonBehindTheHostedEngine) {
  v1::ListPendingResponse pending;
  auto hosted = v1::OtpService::NewStub(InsecureChannel(hosted_->target()));
  ASSERT_TRUE(hosted->ListPending(Context(kOffice).get(), {}, &pending).ok());
  // The hosted engine's caller (anonymous on its loopback port) acting in office_admin; the edge
  // logs it as acting through the hosted engine.
  EXPECT_NE(edge_->Log().find("\"caller\":\"anonymous via hosted-engine\""), std::string::npos)
      << edge_->Log();

  // Only callers configured as delegates may say whom they act for.
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(dir_->path() + "/ca.crt");
  options.pem_private_key = ReadFile(dir_->path() + "/office-screen.key");
  options.pem_cert_chain = ReadFile(dir_->path() + "/office-screen.crt");
  auto screen =
      v1::OtpService::NewStub(grpc::CreateChannel(edge_->target(), grpc::SslCredentials(options)));
  auto context = Context(kOffice);
  context->AddMetadata("x-kaigo-on-behalf-of", "someone-else");
  auto refused = screen->ListPending(context.get(), {}, &pending);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(refused.error_message(),
            "caller 'office-screen' may not act on behalf of others (callers[].delegate)");
  EXPECT_TRUE(screen->ListPending(Context(kOffice).get(), {}, &pending).ok());
}

TEST_F(EdgeHostedTest, TheEdgeDecidesWhoMayActForWhichOffice) {
  auto hosted = v1::OtpService::NewStub(InsecureChannel(hosted_->target()));
  v1::ListPendingResponse list;
  grpc::Status status = hosted->ListPending(Context(kOther).get(), {}, &list);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
}

}  // namespace
}  // namespace kaigo::testing

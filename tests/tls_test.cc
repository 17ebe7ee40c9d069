// Mutual TLS: each client certificate maps to the offices and roles it may act for; calls from
// others are refused with the fitting code, and peers without a certificate from the configured
// CA cannot connect at all. Probes, which have no certificate, ask grpc.health.v1 on a plain-text
// listener of its own that serves nothing else.
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "kaigo/test/v1/probe.grpc.pb.h"
#include "kaigo/v1/engine.grpc.pb.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace t = kaigo::test::v1;

const std::string kOfficeA = Office("137100001");
const std::string kOfficeB = Office("137100002");

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string& d = dir_->path();
    ASSERT_TRUE(MakeTestCertificates(d, {"care-system-a", "admin-tool", "unlisted"}, "rogue").ok());
    std::string office = [](const std::string& n) {
      return "  - number: \"" + n +
             "\"\n    concerns:\n"
             "      - {service: kaigo.test.v1.ProbeService, plugin: probe}\n";
    }(kOfficeA);
    office += "  - number: \"" + kOfficeB +
              "\"\n    concerns:\n"
              "      - {service: kaigo.test.v1.ProbeService, plugin: probe}\n";
    std::string config =
        "server:\n  listen: 127.0.0.1:0\n  tls:\n    cert_file: server.crt\n"
        "    key_file: server.key\n    client_ca_file: ca.crt\n"
        "    require_client_certificate: true\n"
        "  health_listen: 127.0.0.1:0\n"
        "plugins:\n  - {name: probe, path: " +
        PluginDir() +
        "/probe.so}\n"
        "offices:\n" +
        office +
        "callers:\n"
        "  - {identity: care-system-a, offices: [\"" +
        kOfficeA +
        "\"], roles: [care_manager]}\n"
        "  - {identity: admin-tool, offices: [\"*\"], roles: [engine_admin, office_admin]}\n"
        "store:\n  sqlite_path: state.db\n";
    auto engine = EngineProcess::Start(dir_->Write("engine.yaml", config));
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = engine->release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete dir_;
  }

  // A channel presenting `client`'s certificate (none if empty), trusting the test CA.
  static std::shared_ptr<grpc::Channel> Channel(const std::string& client) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(dir_->path() + "/ca.crt");
    if (!client.empty()) {
      options.pem_private_key = ReadFile(dir_->path() + "/" + client + ".key");
      options.pem_cert_chain = ReadFile(dir_->path() + "/" + client + ".crt");
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // no connection shared across tests
    return grpc::CreateCustomChannel(engine_->target(), grpc::SslCredentials(options), args);
  }

  static grpc::Status Echo(const std::string& client, const std::string& office,
                           t::EchoResponse* response) {
    auto stub = t::ProbeService::NewStub(Channel(client));
    return stub->Echo(Context(office, absl::Seconds(5)).get(), {}, response);
  }

  static TempDir* dir_;
  static EngineProcess* engine_;
};

TempDir* TlsTest::dir_ = nullptr;
EngineProcess* TlsTest::engine_ = nullptr;

TEST_F(TlsTest, CertificateActsForItsOfficeInItsRoles) {
  t::EchoResponse response;
  auto status = Echo("care-system-a", kOfficeA, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.caller(), "care-system-a");
  ASSERT_EQ(response.roles_size(), 1);
  EXPECT_EQ(response.roles(0), "care_manager");
}

TEST_F(TlsTest, CertificateMayNotActForAnotherOffice) {
  t::EchoResponse response;
  auto status = Echo("care-system-a", kOfficeB, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find("may not act for office " + kOfficeB), std::string::npos);
  // An office the engine does not serve looks the same to this caller: nothing leaks.
  EXPECT_EQ(Echo("care-system-a", Office("139999999"), &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Echo("admin-tool", Office("139999999"), &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(TlsTest, UnlistedCertificateIsRefused) {
  t::EchoResponse response;
  auto status = Echo("unlisted", kOfficeA, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find("'unlisted'"), std::string::npos);
}

TEST_F(TlsTest, PeersWithoutATrustedCertificateCannotConnect) {
  t::EchoResponse response;
  EXPECT_EQ(Echo("", kOfficeA, &response).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Echo("rogue", kOfficeA, &response).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, AdminNeedsTheEngineAdminRole) {
  kaigo::v1::ListPluginsResponse plugins;
  auto denied = kaigo::v1::EngineAdminService::NewStub(Channel("care-system-a"))
                    ->ListPlugins(Context("").get(), {}, &plugins);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  auto allowed = kaigo::v1::EngineAdminService::NewStub(Channel("admin-tool"))
                     ->ListPlugins(Context("").get(), {}, &plugins);
  EXPECT_TRUE(allowed.ok()) << allowed.error_message();
}

TEST_F(TlsTest, ProbesAskHealthInPlainTextWhereNothingElseIsServed) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(engine_->health_port()),
                                     grpc::InsecureChannelCredentials());
  grpc::health::v1::HealthCheckResponse health;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status s = grpc::health::v1::Health::NewStub(channel)->Check(&context, {}, &health);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  t::EchoResponse echo;
  EXPECT_EQ(t::ProbeService::NewStub(channel)
                ->Echo(Context(kOfficeA, absl::Seconds(5)).get(), {}, &echo)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED)
      << "plugin methods only behind mutual TLS";
  kaigo::v1::ListPluginsResponse plugins;
  grpc::ClientContext admin_context;
  EXPECT_EQ(kaigo::v1::EngineAdminService::NewStub(channel)
                ->ListPlugins(&admin_context, {}, &plugins)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED)
      << "administration only behind mutual TLS";
}

}  // namespace
}  // namespace kaigo::testing

// Mutual TLS: each client certificate maps to the offices and roles it may act for; calls from
// others are refused with the fitting code, and peers without a certificate from the configured
// CA cannot connect at all. Probes, which have no certificate, ask grpc.health.v1 on a plain-text
// listener of its own that serves nothing else.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>

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
    ASSERT_TRUE(MakeTestCertificates(d,
                                     {"care-system-a", "admin-tool", "unlisted", "by-san", "pinned",
                                      "impostor", "revoked"},
                                     "rogue")
                    .ok());
    // A certificate of the CA that names no one: no common name, no subject alternative name.
    CommandResult nameless = RunCommand(
        "cd " + d +
        " && openssl req -newkey rsa:2048 -nodes -subj /O=kaigo-test -keyout "
        "nameless.key -out nameless.csr && printf 'extendedKeyUsage=clientAuth\\n' > nameless.ext"
        " && openssl x509 -req -days 2 -in nameless.csr -CA ca.crt -CAkey ca.key "
        "-CAcreateserial -extfile nameless.ext -out nameless.crt");
    ASSERT_EQ(nameless.exit_code, 0) << nameless.output;
    WriteCrl(d, {});  // nothing revoked yet
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
        "    client_crl_file: clients.crl\n"
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
        // Known by its subject alternative name only.
        "  - {identity: by-san.care.example, offices: [\"*\"], roles: [care_staff]}\n"
        // Pinned to its certificate: `impostor` presents the same name in another one.
        "  - {identity: pinned, offices: [\"*\"], roles: [care_staff], certificate_sha256: " +
        Fingerprint(d + "/pinned.crt") +
        "}\n"
        "  - {identity: impostor, offices: [\"*\"], roles: [care_staff], certificate_sha256: " +
        Fingerprint(d + "/pinned.crt") +
        "}\n"
        "  - {identity: revoked, offices: [\"*\"], roles: [care_staff]}\n"
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

  // The hex SHA-256 of a PEM certificate file (what certificate_sha256 pins).
  static std::string Fingerprint(const std::string& crt) {
    CommandResult r = RunCommand("openssl x509 -in " + crt + " -noout -fingerprint -sha256");
    std::string hex;
    for (char c : r.output.substr(r.output.find('=') + 1)) {
      if (isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(tolower(c));
    }
    return hex;
  }

  // dir/clients.crl: the test CA's revocation list naming `revoked` (certificates in dir).
  static void WriteCrl(const std::string& dir, const std::vector<std::string>& revoked) {
    auto read_pem = [](const std::string& path, auto reader) {
      FILE* f = fopen(path.c_str(), "r");
      auto* x = f != nullptr ? reader(f, nullptr, nullptr, nullptr) : nullptr;
      if (f != nullptr) fclose(f);
      return x;
    };
    X509* ca = read_pem(dir + "/ca.crt", PEM_read_X509);
    EVP_PKEY* key = read_pem(dir + "/ca.key", PEM_read_PrivateKey);
    ASSERT_TRUE(ca != nullptr && key != nullptr);
    X509_CRL* crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
    ASN1_TIME* now = ASN1_TIME_set(nullptr, time(nullptr));
    X509_CRL_set1_lastUpdate(crl, now);
    for (const auto& name : revoked) {
      X509* cert = read_pem(dir + "/" + name + ".crt", PEM_read_X509);
      ASSERT_NE(cert, nullptr) << name;
      X509_REVOKED* entry = X509_REVOKED_new();
      X509_REVOKED_set_serialNumber(entry, X509_get_serialNumber(cert));
      X509_REVOKED_set_revocationDate(entry, now);
      X509_CRL_add0_revoked(crl, entry);
      X509_free(cert);
    }
    X509_CRL_sort(crl);
    X509_CRL_sign(crl, key, EVP_sha256());
    FILE* out = fopen((dir + "/clients.crl.tmp").c_str(), "w");
    PEM_write_X509_CRL(out, crl);
    fclose(out);
    rename((dir + "/clients.crl.tmp").c_str(), (dir + "/clients.crl").c_str());
    ASN1_TIME_free(now);
    X509_CRL_free(crl);
    EVP_PKEY_free(key);
    X509_free(ca);
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

TEST_F(TlsTest, ACallerMayBeKnownByASubjectAlternativeName) {
  t::EchoResponse response;
  auto status = Echo("by-san", kOfficeA, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.caller(), "by-san.care.example");
}

TEST_F(TlsTest, APinnedNameInAnotherCertificateIsRefused) {
  t::EchoResponse response;
  EXPECT_TRUE(Echo("pinned", kOfficeA, &response).ok());
  auto status = Echo("impostor", kOfficeA, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            "caller 'impostor': the certificate is not the one pinned for it "
            "(certificate_sha256)");
}

TEST_F(TlsTest, ACertificateNamingNoOneIsRefused) {
  t::EchoResponse response;
  auto status = Echo("nameless", kOfficeA, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(),
            "the client certificate names no identity (neither a common name nor a subject "
            "alternative name)");
}

// Last of the suite's callers tests: it revokes a certificate and reloads.
TEST_F(TlsTest, ZARevokedCertificateIsRefusedAfterAReload) {
  t::EchoResponse response;
  ASSERT_TRUE(Echo("revoked", kOfficeA, &response).ok());
  WriteCrl(dir_->path(), {"revoked"});
  engine_->Signal(SIGHUP);
  grpc::Status status;
  for (int i = 0; i < 200; ++i) {
    status = Echo("revoked", kOfficeA, &response);
    if (!status.ok()) break;
    absl::SleepFor(absl::Milliseconds(25));
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(),
            "the client certificate is revoked (server.tls.client_crl_file)");
  EXPECT_TRUE(Echo("care-system-a", kOfficeA, &response).ok()) << "others still call";
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

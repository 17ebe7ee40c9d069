// The sandbox over real TLS 1.3 with client certificates, driven through the plugins' platform
// client: login and tokens, a refresh the caller does not notice, lockout, visibility rules,
// go-live dates, retries through 503s and dropped connections, and the circuit breaker while the
// sandbox is down and after it is back; the portal's subsidy desk (uploads checked by type, one
// application per office, idempotent filing, resubmission from the next month) read through the
// subsidy plugin's answer parser.
#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "platform_client.h"
#include "plugins/subsidy_filing/portal_answers.h"
#include "tests/support/sample_files.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

using nlohmann::json;
using platform::ClientOptions;
using platform::PlatformClient;

constexpr char kSakura[] = "1371000017";    // 居宅介護支援, care manager of most recipients
constexpr char kHimawari[] = "1371000025";  // 訪問介護
constexpr char kMidori[] = "1312345670";    // medical institution without care services

class SandboxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto sandbox = SandboxProcess::Start();
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = sandbox->release();
  }
  static void TearDownTestSuite() { delete sandbox_; }

  static ClientOptions Options(const std::string& office, const std::string& user,
                               const std::string& password) {
    ClientOptions o;
    o.base_url = sandbox_->base_url();
    o.ca_pem = sandbox_->ca_pem();
    o.client_p12 = sandbox_->p12(office);
    o.client_p12_password = "sandbox";
    o.user_id = user;
    o.password = password;
    o.initial_backoff = absl::Milliseconds(20);
    return o;
  }
  static std::unique_ptr<PlatformClient> Client(ClientOptions o) {
    auto client = PlatformClient::Create(std::move(o));
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }
  static std::unique_ptr<PlatformClient> Sakura() {
    return Client(Options(kSakura, "sakura-cm", "Sakura#2026"));
  }
  static json GetJson(PlatformClient& client, const std::string& path) {
    auto r = client.Get(path);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? json::parse(r->body, nullptr, false) : json();
  }

  static SandboxProcess* sandbox_;
};

SandboxProcess* SandboxTest::sandbox_ = nullptr;

// Runs before WrongPasswordsLockTheAccount, which locks ひまわり's user for 30 minutes.
TEST_F(SandboxTest, ASubsidyDeskKeepsItsRules) {
  namespace subsidy = plugins::subsidy;
  auto himawari = Client(Options(kHimawari, "himawari-staff", "Himawari#2026"));
  auto upload = [&](const std::string& kind, const std::string& content) {
    auto r = himawari->Post("/portal/v1/subsidy/attachments?kind=" + kind + "&file_name=f", content,
                            "application/octet-stream");
    EXPECT_TRUE(r.ok()) << r.status();
    return subsidy::ParseUploaded(r.ok() ? r->body : "");
  };
  auto word = upload("receipt", "PK\x03\x04 a Word file");
  EXPECT_EQ(word.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(word.status().message().find("PDF、JPG、PNG"), std::string::npos);
  json attachments = json::array();
  for (const char* kind : {"passbook", "service_type_document", "receipt"}) {
    auto id = upload(kind, SamplePdf(kind));
    ASSERT_TRUE(id.ok()) << id.status();
    attachments.push_back({{"attachment_id", *id}, {"kind", kind}});
  }
  json form = {{"office_name", "ひまわり"},  {"address", "東京都"},
               {"phone", "0300000000"},      {"bank", {{"account_number", "1234567"}}},
               {"attachments", attachments}, {"grant_requested", 42000}};
  auto file = [&](const std::string& reference) {
    form["client_reference"] = reference;
    auto r = himawari->Post("/portal/v1/subsidy/applications", form.dump());
    EXPECT_TRUE(r.ok()) << r.status();
    return subsidy::ParseFiled(r.ok() ? r->body : "");
  };
  auto first = file("draft-1-r1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->status, kaigo::v1::APPLICATION_STATUS_SUBMITTED);
  auto repeated = file("draft-1-r1");
  ASSERT_TRUE(repeated.ok());
  EXPECT_EQ(repeated->portal_id, first->portal_id) << "the same client reference, the same filing";
  auto second = file("draft-2-r1");
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find("既に助成金を申請しています"), std::string::npos);

  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        sandbox_->Faults(R"({"advance_subsidy": {"application_id": ")" + first->portal_id + "\"}}")
            .ok());
  }
  auto status = himawari->Get("/portal/v1/subsidy/applications/" + first->portal_id);
  ASSERT_TRUE(status.ok());
  auto parsed = subsidy::ParseStatus(status->body);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->status(), kaigo::v1::APPLICATION_STATUS_RETURNED);
  EXPECT_EQ(parsed->return_reasons_size(), 1);
  EXPECT_EQ(parsed->resubmit_from().day(), 1);
  auto early = file("draft-1-r2");
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(early.status().message().find("resubmission from "), std::string::npos)
      << early.status();

  auto list = himawari->Get("/portal/v1/subsidy/applications");
  ASSERT_TRUE(list.ok());
  auto prior = subsidy::ParseApplications(list->body);
  ASSERT_TRUE(prior.ok());
  ASSERT_EQ(prior->size(), 1u);
  EXPECT_EQ((*prior)[0].status, kaigo::v1::APPLICATION_STATUS_RETURNED);
}

TEST_F(SandboxTest, LogsInOnFirstUseAndReadsSeededData) {
  auto client = Sakura();
  json m = GetJson(*client, "/api/v1/municipalities");
  ASSERT_EQ(m["municipalities"].size(), 4u);
  json r = GetJson(*client,
                   "/api/v1/insured-certificate?insurer_number=131011&insured_number=0000100004");
  ASSERT_EQ(r["records"].size(), 1u);
  EXPECT_EQ(r["records"][0]["care_level_code"], "21");
  EXPECT_EQ(r["records"][0]["monthly_limit_units"], 16765);
  EXPECT_EQ(r["records"][0]["copay"]["percent"], 10);
  EXPECT_EQ(client->stats().logins, 1);
}

TEST_F(SandboxTest, ExpiredAccessTokenIsRefreshedWithoutTheCallerNoticing) {
  auto client = Sakura();
  GetJson(*client, "/api/v1/municipalities");
  ASSERT_TRUE(sandbox_->Faults(R"({"expire_access_tokens": true})").ok());
  json m = GetJson(*client, "/api/v1/municipalities");
  EXPECT_EQ(m["municipalities"].size(), 4u);
  EXPECT_EQ(client->stats().refreshes, 1);
  EXPECT_EQ(client->stats().logins, 1);
}

TEST_F(SandboxTest, WrongPasswordsLockTheAccount) {
  for (int i = 0; i < 5; ++i) {
    auto r = Client(Options(kHimawari, "himawari-staff", "wrong"))->Get("/api/v1/municipalities");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  }
  auto locked =
      Client(Options(kHimawari, "himawari-staff", "Himawari#2026"))->Get("/api/v1/municipalities");
  EXPECT_EQ(locked.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(locked.status().message().find("locked"), std::string_view::npos) << locked.status();
}

TEST_F(SandboxTest, UserMustBelongToTheCertificatesOffice) {
  auto r = Client(Options(kMidori, "sakura-cm", "Sakura#2026"))->Get("/api/v1/municipalities");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
}

TEST_F(SandboxTest, VisibilityRules) {
  // 認定情報 only for the care managers of the recipient's 居宅介護支援事業所 (#3 has another one).
  auto sakura = Sakura();
  json own = GetJson(
      *sakura, "/api/v1/certification/progress?insurer_number=131011&insured_number=0000100004");
  EXPECT_EQ(own["status"], "certified");
  json other = GetJson(
      *sakura, "/api/v1/certification/progress?insurer_number=131011&insured_number=0000100003");
  EXPECT_EQ(other["error"]["code"], "NOT_PERMITTED");
  // 負担割合 and 負担限度額 are not shown to medical institutions without care services.
  auto midori = Client(Options(kMidori, "midori-dr", "Midori#2026"));
  json record = GetJson(
      *midori, "/api/v1/insured-certificate?insurer_number=131011&insured_number=0000100004");
  EXPECT_FALSE(record["records"][0].contains("copay"));
  EXPECT_FALSE(record["records"][0].contains("cost_limit"));
  EXPECT_TRUE(record["records"][0].contains("care_level_code"));
}

TEST_F(SandboxTest, MunicipalitiesNotLiveAreBusinessErrorsWithTheirDate) {
  auto client = Sakura();
  json future = GetJson(
      *client, "/api/v1/insured-certificate?insurer_number=122192&insured_number=0000100046");
  EXPECT_EQ(future["error"]["code"], "MUNICIPALITY_NOT_LIVE");
  EXPECT_EQ(future["error"]["live_from"], "2028-04-01");
  json never = GetJson(
      *client, "/api/v1/insured-certificate?insurer_number=435073&insured_number=0000100049");
  EXPECT_EQ(never["error"]["code"], "MUNICIPALITY_NOT_LIVE");
  EXPECT_TRUE(never["error"]["live_from"].is_null());
}

TEST_F(SandboxTest, DocumentsArePdf) {
  auto client = Sakura();
  json list = GetJson(
      *client, "/api/v1/certification/documents?insurer_number=131011&insured_number=0000100004");
  ASSERT_EQ(list["documents"].size(), 2u);
  auto pdf = client->Get("/api/v1/certification/documents/" +
                         list["documents"][0]["document_id"].get<std::string>());
  ASSERT_TRUE(pdf.ok()) << pdf.status();
  EXPECT_EQ(pdf->content_type, "application/pdf");
  EXPECT_EQ(pdf->body.rfind("%PDF-1.4", 0), 0u);
  EXPECT_EQ(static_cast<int64_t>(pdf->body.size()), list["documents"][0]["size_bytes"]);
}

TEST_F(SandboxTest, RetriesThrough503sAndDroppedConnections) {
  auto client = Sakura();
  GetJson(*client, "/api/v1/municipalities");
  ASSERT_TRUE(sandbox_->Faults(R"({"fail_503": 2})").ok());
  EXPECT_EQ(GetJson(*client, "/api/v1/municipalities")["municipalities"].size(), 4u);
  ASSERT_TRUE(sandbox_->Faults(R"({"drop": 2})").ok());
  EXPECT_EQ(GetJson(*client, "/api/v1/municipalities")["municipalities"].size(), 4u);
  // Two 503s cost two retries; of the two drops, libcurl absorbs one itself (it reconnects once
  // when a reused connection turns out dead), so at least three retries in all.
  EXPECT_GE(client->stats().retries, 3);
  ASSERT_TRUE(sandbox_->Faults(R"({"fail_503": 5})").ok());
  auto failed = client->Get("/api/v1/municipalities");
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(sandbox_->Faults("{}").ok());
}

TEST_F(SandboxTest, TlsBelow13AndPeersWithoutCertificateAreRefused) {
  std::string curl = "curl -s -o /dev/null --cacert " + sandbox_->dir() + "/ca.crt ";
  std::string cert = "--cert " + sandbox_->dir() + "/office-1371000017.crt --key " +
                     sandbox_->dir() + "/office-1371000017.key ";
  EXPECT_EQ(RunCommand(curl + cert + sandbox_->base_url() + "/sandbox/health").exit_code, 0);
  EXPECT_NE(RunCommand(curl + sandbox_->base_url() + "/sandbox/health").exit_code, 0);
  EXPECT_NE(RunCommand(curl + cert + "--tls-max 1.2 " + sandbox_->base_url() + "/sandbox/health")
                .exit_code,
            0);
}

// Last: it stops and restarts the shared sandbox.
TEST_F(SandboxTest, ZBreakerOpensWhileDownAndClosesWhenBack) {
  auto options = Options(kSakura, "sakura-cm", "Sakura#2026");
  options.max_attempts = 1;
  options.breaker_threshold = 3;
  options.breaker_cooldown = absl::Milliseconds(300);
  auto client = Client(options);
  GetJson(*client, "/api/v1/municipalities");
  sandbox_->Stop();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(client->Get("/api/v1/municipalities").status().code(),
              absl::StatusCode::kUnavailable);
  }
  auto fast = client->Get("/api/v1/municipalities");
  EXPECT_EQ(fast.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(fast.status().message().find("calls pause until"), std::string_view::npos)
      << fast.status();
  EXPECT_EQ(client->stats().fast_failures, 1);
  ASSERT_TRUE(sandbox_->Restart().ok());
  absl::SleepFor(absl::Milliseconds(350));
  EXPECT_EQ(GetJson(*client, "/api/v1/municipalities")["municipalities"].size(), 4u);
}

}  // namespace
}  // namespace kaigo::testing

// SubsidyFiling's instance on the SDK's fake host, the portal scripted (fake_platform.h): drafts
// created and changed by revision (a stale one ABORTED, nothing overwritten), and the filing — the
// rules checked before anything leaves, each attachment uploaded once under its derived key, the
// application under its client reference "<draft id>-r<revision>", and a filing the portal did
// not take finished by retrying it without uploading again.
#include "subsidy_filing.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "absl/strings/match.h"
#include "fake_platform.h"
#include "kaigo/plugins/v1/platform_config.pb.h"
#include "kaigo/sdk/fake_host.h"
#include "kaigo/v1/subsidy.pb.h"
#include "unreachable_platform.h"

namespace kaigo::plugins::subsidy {
namespace {

namespace v1 = kaigo::v1;
using platform::testing::FakePlatform;
using sdk::testing::FakeHost;

constexpr char kService[] = "/kaigo.v1.SubsidyService/";
constexpr char kApplications[] = "/portal/v1/subsidy/applications";
constexpr char kAttachments[] = "/portal/v1/subsidy/attachments";

const kaigo_plugin_api* Api() { return FakePlatform::Exported<&DefineWith>(); }

// A complete form of a 居宅介護支援 office: 2 readers for ¥20,000, support ¥30,000.
v1::ApplicationForm Form() {
  v1::ApplicationForm f;
  f.set_office_name("さくら居宅介護支援事業所");
  f.set_address("東京都千代田区霞が関1-2-2");
  f.set_phone("0312345678");
  f.add_service_types()->set_value("43");
  f.mutable_readers()->mutable_cost()->set_amount(20000);
  f.mutable_readers()->set_model("ACR39-NTTCom");
  f.mutable_readers()->set_supports_qualification_app(true);
  f.mutable_readers()->set_count(2);
  f.mutable_support_cost()->set_amount(30000);
  auto* b = f.mutable_bank();
  b->set_kind(v1::BANK_KIND_BANK);
  b->set_bank_name("みずほ銀行");
  b->set_bank_code("0001");
  b->set_branch_name("東京営業部");
  b->set_branch_code("001");
  b->set_account_type(v1::ACCOUNT_TYPE_ORDINARY);
  b->set_account_number("1234567");
  b->set_holder_kana("カ）サクラケアサービス");
  return f;
}

class SubsidyFilingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.SetJapanTime(absl::CivilSecond(2026, 11, 24, 10, 0, 0));  // the subsidy is open (FY2026)
    kaigo::plugins::v1::SubsidyConfig config;
    config.set_rules_file(std::string(std::getenv("KAIGO_SOURCE_DIR")) +
                          "/deploy/subsidy/subsidy-rules.yaml");
    platform::testing::UseUnreachablePlatform(&host_, config.mutable_platform());
    absl::Status loaded = host_.Load(Api(), config.SerializeAsString());
    ASSERT_TRUE(loaded.ok()) << loaded;
  }

  template <class Response>
  absl::StatusOr<Response> Call(const char* method, const google::protobuf::Message& req) {
    return host_.CallUnary<Response>(std::string(kService) + method, req);
  }

  v1::SubsidyApplication Create() {
    v1::CreateApplicationRequest req;
    *req.mutable_form() = Form();
    auto created = Call<v1::CreateApplicationResponse>("CreateApplication", req);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->application() : v1::SubsidyApplication();
  }

  v1::SubsidyApplication Attach(const std::string& id, v1::AttachmentKind kind,
                                v1::ReceiptCovers covers = {}, int64_t amount = 0,
                                const std::string& line = "") {
    v1::AddAttachmentRequest req;
    req.set_application_id(id);
    req.set_kind(kind);
    req.set_file_name("file.pdf");
    req.set_content("%PDF-1.4\n" + v1::AttachmentKind_Name(kind) + line + "\n%%EOF\n");
    if (kind == v1::ATTACHMENT_KIND_RECEIPT) {
      req.mutable_receipt()->set_covers(covers);
      req.mutable_receipt()->mutable_amount()->set_amount(amount);
      req.mutable_receipt()->add_lines(line);
    }
    auto added = Call<v1::AddAttachmentResponse>("AddAttachment", req);
    EXPECT_TRUE(added.ok()) << added.status();
    return added.ok() ? added->application() : v1::SubsidyApplication();
  }

  // A draft that passes every rule.
  v1::SubsidyApplication Complete() {
    std::string id = Create().id();
    Attach(id, v1::ATTACHMENT_KIND_PASSBOOK);
    Attach(id, v1::ATTACHMENT_KIND_SERVICE_TYPE_DOCUMENT);
    Attach(id, v1::ATTACHMENT_KIND_RECEIPT, v1::RECEIPT_COVERS_READERS, 20000,
           "ICカードリーダー ACR39-NTTCom ×2 資格確認用");
    return Attach(id, v1::ATTACHMENT_KIND_RECEIPT, v1::RECEIPT_COVERS_SUPPORT, 30000,
                  "介護情報基盤 接続設定作業");
  }

  absl::StatusOr<v1::SubsidyApplication> Submit(const v1::SubsidyApplication& app) {
    v1::SubmitApplicationRequest req;
    req.set_id(app.id());
    req.set_revision(app.revision());
    auto r = Call<v1::SubmitApplicationResponse>("SubmitApplication", req);
    if (!r.ok()) return r.status();
    return r->application();
  }

  // The portal: no earlier applications, every upload taken, the application filed.
  void PortalTakesAll() {
    platform_.On("GET", kApplications, FakePlatform::Json(R"({"applications":[]})"));
    platform_.On("POST", kAttachments, [this](const platform::testing::PlatformRequest&) {
      return FakePlatform::Json(R"({"attachment_id":"pa-)" + std::to_string(++uploads_) +
                                R"("})")({});
    });
    platform_.On(
        "POST", kApplications,
        FakePlatform::Json(
            R"({"application_id":"P-1","status":"submitted","submitted_on":"2026-11-24"})"));
  }

  FakePlatform platform_;  // outlives the host: the plugin's clients send to it
  FakeHost host_;
  int uploads_ = 0;
};

TEST_F(SubsidyFilingTest, ADraftChangesOnlyFromTheRevisionItWasReadAt) {
  v1::SubsidyApplication app = Create();
  EXPECT_EQ(app.status(), v1::APPLICATION_STATUS_DRAFT);
  EXPECT_EQ(app.revision(), 1);
  EXPECT_EQ(app.grant().grant().amount(), 50000) << app.grant().DebugString();

  v1::UpdateApplicationRequest update;
  update.set_id(app.id());
  *update.mutable_form() = Form();
  update.mutable_form()->mutable_support_cost()->set_amount(10000);
  update.set_revision(1);
  auto updated = Call<v1::UpdateApplicationResponse>("UpdateApplication", update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->application().revision(), 2);
  EXPECT_EQ(updated->application().grant().grant().amount(), 30000);

  update.mutable_form()->mutable_support_cost()->set_amount(0);
  auto stale = Call<v1::UpdateApplicationResponse>("UpdateApplication", update);  // still 1
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(absl::StartsWith(stale.status().message(), "revision:")) << stale.status();
  v1::GetApplicationRequest get;
  get.set_id(app.id());
  auto stored = Call<v1::GetApplicationResponse>("GetApplication", get);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->application().form().support_cost().amount(), 10000) << "nothing overwritten";
  EXPECT_TRUE(platform_.Requests().empty()) << "drafts are the engine's own";
}

TEST_F(SubsidyFilingTest, AFilingUploadsEachAttachmentOnceThenTheApplicationUnderItsReference) {
  PortalTakesAll();
  v1::SubsidyApplication app = Complete();
  auto filed = Submit(app);
  ASSERT_TRUE(filed.ok()) << filed.status();
  EXPECT_EQ(filed->status(), v1::APPLICATION_STATUS_SUBMITTED);
  EXPECT_EQ(filed->portal_application_id(), "P-1");
  EXPECT_EQ(filed->filing_revision(), 0);

  auto uploads = platform_.Requests("POST", kAttachments);
  ASSERT_EQ(uploads.size(), 4u);
  for (const auto& u : uploads) {
    EXPECT_TRUE(absl::StartsWith(u.idempotency_key, "d-")) << u.idempotency_key;
    EXPECT_EQ(u.content_type, "application/octet-stream");
  }
  EXPECT_NE(uploads[0].idempotency_key, uploads[1].idempotency_key);
  auto posted = platform_.Requests("POST", kApplications);
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].idempotency_key, app.id() + "-r" + std::to_string(app.revision()));
  EXPECT_NE(posted[0].body.find("pa-4"), std::string::npos) << "the portal's attachment ids";

  auto again = Submit(*filed);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->portal_application_id(), "P-1");
  EXPECT_EQ(platform_.Count("POST", kApplications), 1) << "a filed application is answered";
}

TEST_F(SubsidyFilingTest, AFilingThePortalDidNotTakeIsFinishedByARetryWithoutUploadingAgain) {
  PortalTakesAll();
  platform_.On("POST", kApplications,
               FakePlatform::InTurn(
                   {FakePlatform::Json("{}", 503), FakePlatform::Json(R"({"application_id":"P-2",
                                       "status":"submitted","submitted_on":"2026-11-24"})")}));
  v1::SubsidyApplication app = Complete();
  EXPECT_EQ(Submit(app).status().code(), absl::StatusCode::kUnavailable);

  v1::UpdateApplicationRequest update;  // the draft is not held by the failed filing
  update.set_id(app.id());
  *update.mutable_form() = app.form();
  update.set_revision(app.revision());
  auto updated = Call<v1::UpdateApplicationResponse>("UpdateApplication", update);
  ASSERT_TRUE(updated.ok()) << updated.status();

  auto filed = Submit(updated->application());
  ASSERT_TRUE(filed.ok()) << filed.status();
  EXPECT_EQ(filed->portal_application_id(), "P-2");
  EXPECT_EQ(platform_.Count("POST", kAttachments), 4) << "each attachment once";
  auto posted = platform_.Requests("POST", kApplications);
  ASSERT_EQ(posted.size(), 2u);
  EXPECT_EQ(posted[1].idempotency_key,
            app.id() + "-r" + std::to_string(updated->application().revision()));
}

TEST_F(SubsidyFilingTest, ADraftAgainstTheRulesNeverLeaves) {
  PortalTakesAll();
  v1::SubsidyApplication app = Create();  // no attachments
  absl::Status s = Submit(app).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(platform_.Count("POST", kAttachments), 0);
  EXPECT_EQ(platform_.Count("POST", kApplications), 0);
}

TEST_F(SubsidyFilingTest, TheStatusIsThePortalsAndIsKept) {
  PortalTakesAll();
  platform_.On("GET", std::string(kApplications) + "/P-1",
               FakePlatform::Json(R"({"application_id":"P-1","status":"returned",
                                  "reasons":["通帳の写しが不鮮明"]})"));
  auto filed = Submit(Complete());
  ASSERT_TRUE(filed.ok()) << filed.status();
  v1::GetStatusRequest req;
  req.set_id(filed->id());
  auto status = Call<v1::GetStatusResponse>("GetStatus", req);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->status().status(), v1::APPLICATION_STATUS_RETURNED);
  v1::GetApplicationRequest get;
  get.set_id(filed->id());
  auto stored = Call<v1::GetApplicationResponse>("GetApplication", get);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->application().status(), v1::APPLICATION_STATUS_RETURNED);
  ASSERT_EQ(stored->application().return_reasons_size(), 1);

  // Returned and unchanged: the portal's reasons come back, nothing is filed again.
  absl::Status unchanged = Submit(stored->application()).status();
  EXPECT_EQ(unchanged.code(), absl::StatusCode::kFailedPrecondition) << unchanged;
  EXPECT_EQ(platform_.Count("POST", kApplications), 1);
}

}  // namespace
}  // namespace kaigo::plugins::subsidy

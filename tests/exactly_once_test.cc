// Exactly once toward the platform, across the engine's death: the sandbox, told the engine's pid
// (`kill_after` of its fault switch), sends it SIGKILL right after it has performed a POST and
// kept its answer, and closes the connection unanswered — the engine dies between the platform's
// answer and its own save. The engine restarts on the same store, the caller retries the same
// request, and then:
//   - the platform holds exactly one record (read from the sandbox's SQLite files), and
//   - the engine's state agrees: the retry answers with that record's id, and so does one more
//     retry while every platform request fails (answered from the engine's own store).
// For a subsidy Submit, an attachment upload (made by Submit), a care-plan Send (with a
// request_id and without one) and a 居宅サービス計画作成依頼届出 (without a
// request_id: its key is derived from the content).
// ctest label `faults`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "careplan/testing/sample_files.h"
#include "kaigo/v1/careplan_exchange.grpc.pb.h"
#include "kaigo/v1/subsidy.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/subsidy_drafts.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;
namespace cp = kaigo::careplan;

constexpr char kSakura[] = "1371000017";    // 居宅介護支援 (43)
constexpr char kHimawari[] = "1371000025";  // 訪問介護 (11)
constexpr char kAoba[] = "1371000033";      // 居宅介護支援; may file a subsidy again (seeded)

// One column of every row `sql` selects from the sandbox's database `file`.
std::vector<std::string> SandboxRows(const SandboxProcess& sandbox, const std::string& file,
                                     const std::string& sql) {
  std::vector<std::string> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((sandbox.dir() + "/" + file).c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << file;
    sqlite3_close(db);
    return rows;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  }
  while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    rows.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

// さくら's plan (第6表) of this month for `recipients` recipients, to ひまわり (11).
v1::SendCarePlanRequest PlanToHimawari(int recipients) {
  cp::testing::SampleOptions sample;
  sample.recipients = recipients;
  sample.month = TestMonth();
  v1::SendCarePlanRequest req;
  *req.add_typed_files() = cp::testing::SampleFile(cp::v1::FILE_KIND_UPPLAN, sample);
  auto* to = req.add_destinations();
  to->set_office_number(kHimawari);
  to->set_service_type("11");
  return req;
}

class ExactlyOnceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = PlatformStack::Start(
        {"subsidy_filing", "careplan_exchange"},
        [](const SandboxProcess& sandbox, const TempDir& dir) {
          WriteOpenRoundRules(dir);
          auto bindings = [](const char* type) {
            return std::vector<PlatformBinding>{SubsidyBinding(), CarePlanBinding(type)};
          };
          return PlatformOfficeYaml(sandbox, dir, kSakura, "sakura-cm", "Sakura#2026",
                                    bindings("43")) +
                 PlatformOfficeYaml(sandbox, dir, kHimawari, "himawari-staff", "Himawari#2026",
                                    bindings("11")) +
                 PlatformOfficeYaml(sandbox, dir, kAoba, "aoba-cm", "Aoba#2026", bindings("43"));
        });
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    Connect();
  }
  static void TearDownTestSuite() {
    subsidy_.reset();
    careplan_.reset();
    delete stack_;
  }
  void TearDown() override {
    // Whatever a case left armed or failing is cleared for the next.
    EXPECT_TRUE(stack_->sandbox->Faults("{}").ok());
  }

  static void Connect() {
    auto channel = InsecureChannel(stack_->engine->target());
    subsidy_ = v1::SubsidyService::NewStub(channel);
    careplan_ = v1::CarePlanExchangeService::NewStub(channel);
  }

  // Arms the sandbox to kill the engine once it has performed the next POST to `path`.
  static void KillEngineAfter(const std::string& path) {
    ASSERT_TRUE(stack_->sandbox
                    ->Faults(absl::StrCat(R"({"kill_after": {"path": ")", path, R"(", "pid": )",
                                          stack_->engine->pid(), "}}"))
                    .ok());
  }

  // The engine was killed by SIGKILL (not stopped some other way); starts it again on its store.
  static void ExpectKilledAndRestart() {
    int status = stack_->engine->Stop();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the engine was not killed by the sandbox (wait status " << status << ")\n"
        << stack_->engine->Log();
    auto restarted = EngineProcess::Start(stack_->config);
    ASSERT_TRUE(restarted.ok()) << restarted.status();
    stack_->engine = *std::move(restarted);
    Connect();
  }

  // From here every platform request fails: an answer now comes from the engine's own store.
  static void PlatformDown() { ASSERT_TRUE(stack_->sandbox->Faults(R"({"fail_503": 1000})").ok()); }

  // The send ids of さくら's evidence of units it sent (the engine's own record).
  static std::vector<std::string> SentEvidence() {
    v1::ExportEvidenceResponse evidence;
    grpc::Status status =
        careplan_->ExportEvidence(Context(kSakura).get(), v1::ExportEvidenceRequest(), &evidence);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const auto& e : evidence.records()) {
      if (e.direction() == v1::EvidenceRecord::DIRECTION_SENT) ids.push_back(e.send_id());
    }
    return ids;
  }

  static grpc::Status Submit(const std::string& office, const std::string& id,
                             v1::SubsidyApplication* out) {
    v1::SubmitApplicationRequest req;
    req.set_id(id);
    return subsidy_->SubmitApplication(Context(office, absl::Seconds(60)).get(), req, Into(out));
  }

  static PlatformStack* stack_;
  static std::unique_ptr<v1::SubsidyService::Stub> subsidy_;
  static std::unique_ptr<v1::CarePlanExchangeService::Stub> careplan_;
};

PlatformStack* ExactlyOnceTest::stack_ = nullptr;
std::unique_ptr<v1::SubsidyService::Stub> ExactlyOnceTest::subsidy_;
std::unique_ptr<v1::CarePlanExchangeService::Stub> ExactlyOnceTest::careplan_;

TEST_F(ExactlyOnceTest, ASubsidySubmitKilledAfterThePortalFiledItFilesOnce) {
  v1::SubsidyApplication app = CompleteDraft(*subsidy_, kHimawari, "11");
  ASSERT_FALSE(app.id().empty());
  KillEngineAfter("/portal/v1/subsidy/applications");
  v1::SubsidyApplication filed;
  grpc::Status died = Submit(kHimawari, app.id(), &filed);
  EXPECT_FALSE(died.ok()) << "the engine answered although the sandbox killed it";
  ExpectKilledAndRestart();

  // The portal has the filing; the engine had not recorded it.
  std::vector<std::string> on_portal = SandboxRows(
      *stack_->sandbox, "subsidy.db",
      absl::StrCat("SELECT id FROM subsidy_applications WHERE office = '", kHimawari, "'"));
  ASSERT_EQ(on_portal.size(), 1u);
  v1::GetApplicationRequest get;
  get.set_id(app.id());
  v1::SubsidyApplication before;
  ASSERT_TRUE(subsidy_->GetApplication(Context(kHimawari).get(), get, Into(&before)).ok());
  EXPECT_EQ(before.status(), v1::APPLICATION_STATUS_DRAFT);
  EXPECT_TRUE(before.portal_application_id().empty());

  // The caller's retry: the same filing, recorded.
  grpc::Status retried = Submit(kHimawari, app.id(), &filed);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_EQ(filed.status(), v1::APPLICATION_STATUS_SUBMITTED);
  EXPECT_EQ(filed.portal_application_id(), on_portal[0]);
  EXPECT_EQ(SandboxRows(*stack_->sandbox, "subsidy.db",
                        absl::StrCat("SELECT id FROM subsidy_applications WHERE office = '",
                                     kHimawari, "'")),
            on_portal)
      << "exactly one application on the portal";

  // The engine's own record agrees, without the portal.
  PlatformDown();
  v1::ListApplicationsResponse list;
  ASSERT_TRUE(subsidy_->ListApplications(Context(kHimawari).get(), {}, &list).ok());
  ASSERT_EQ(list.applications_size(), 1);
  EXPECT_EQ(list.applications(0).portal_application_id(), on_portal[0]);
  EXPECT_EQ(list.applications(0).filing_revision(), 0);
  v1::SubsidyApplication again;
  ASSERT_TRUE(Submit(kHimawari, app.id(), &again).ok());
  EXPECT_EQ(again.portal_application_id(), on_portal[0]);
}

TEST_F(ExactlyOnceTest, AnAttachmentUploadKilledAfterThePortalTookItUploadsOnce) {
  v1::SubsidyApplication app = CompleteDraft(*subsidy_, kAoba, "43");
  ASSERT_EQ(app.attachments_size(), 4);
  const std::string uploads =
      absl::StrCat("SELECT id FROM subsidy_uploads WHERE office = '", kAoba, "' ORDER BY id");
  ASSERT_TRUE(SandboxRows(*stack_->sandbox, "subsidy.db", uploads).empty())
      << "the seed has no uploads of あおば's";
  KillEngineAfter("/portal/v1/subsidy/attachments");
  v1::SubsidyApplication filed;
  EXPECT_FALSE(Submit(kAoba, app.id(), &filed).ok());
  ExpectKilledAndRestart();
  ASSERT_EQ(SandboxRows(*stack_->sandbox, "subsidy.db", uploads).size(), 1u)
      << "the first attachment reached the portal before the engine died";
  v1::GetApplicationRequest get;
  get.set_id(app.id());
  v1::SubsidyApplication before;
  ASSERT_TRUE(subsidy_->GetApplication(Context(kAoba).get(), get, Into(&before)).ok());
  for (const auto& a : before.attachments()) {
    EXPECT_TRUE(a.portal_id().empty()) << "the engine kept no portal id before it died";
  }

  grpc::Status retried = Submit(kAoba, app.id(), &filed);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_EQ(filed.status(), v1::APPLICATION_STATUS_SUBMITTED);
  // Four attachments, four uploads: the first was not uploaded twice.
  std::vector<std::string> on_portal = SandboxRows(*stack_->sandbox, "subsidy.db", uploads);
  EXPECT_EQ(on_portal.size(), 4u);
  std::set<std::string> kept;
  for (const auto& a : filed.attachments()) kept.insert(a.portal_id());
  EXPECT_EQ(kept, std::set<std::string>(on_portal.begin(), on_portal.end()));
  // The filing names exactly those.
  std::vector<std::string> body =
      SandboxRows(*stack_->sandbox, "subsidy.db",
                  absl::StrCat("SELECT body FROM subsidy_applications WHERE office = '", kAoba,
                               "' AND id = '", filed.portal_application_id(), "'"));
  ASSERT_EQ(body.size(), 1u);
  for (const std::string& id : on_portal) {
    EXPECT_NE(body[0].find(id), std::string::npos) << id << " is not in the filing";
  }
}

TEST_F(ExactlyOnceTest, ACarePlanSendKilledAfterThePlatformTookItSendsOnce) {
  v1::SendCarePlanRequest req = PlanToHimawari(1);
  req.set_request_id("exactly-once-plan");
  const std::string sends =
      absl::StrCat("SELECT id FROM careplan_sends WHERE from_office = '", kSakura,
                   "' AND client_reference LIKE 'exactly-once-plan/%'");
  KillEngineAfter("/api/v1/careplan/sends");
  v1::SendCarePlanResponse sent;
  EXPECT_FALSE(careplan_->SendCarePlan(Context(kSakura, absl::Seconds(60)).get(), req, &sent).ok());
  ExpectKilledAndRestart();
  std::vector<std::string> on_platform = SandboxRows(*stack_->sandbox, "careplan.db", sends);
  ASSERT_EQ(on_platform.size(), 1u);
  EXPECT_TRUE(SentEvidence().empty()) << "the engine recorded nothing before it died";

  grpc::Status retried = careplan_->SendCarePlan(Context(kSakura, absl::Seconds(60)).get(), req, &sent);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  ASSERT_EQ(sent.sends_size(), 1);
  ASSERT_TRUE(sent.sends(0).error_code().empty()) << sent.sends(0).error_message();
  EXPECT_EQ(sent.sends(0).send_id(), on_platform[0]);
  EXPECT_EQ(SandboxRows(*stack_->sandbox, "careplan.db", sends), on_platform)
      << "exactly one send on the platform";
  // The platform's unit is the 連番 the engine kept before the send left (not a new one).
  EXPECT_EQ(SandboxRows(*stack_->sandbox, "careplan.db",
                        "SELECT unit FROM careplan_sends WHERE id = '" + on_platform[0] + "'"),
            std::vector<std::string>{sent.sends(0).unit()});

  PlatformDown();
  EXPECT_EQ(SentEvidence(), std::vector<std::string>{on_platform[0]});
  v1::SendCarePlanResponse again;
  ASSERT_TRUE(careplan_->SendCarePlan(Context(kSakura, absl::Seconds(60)).get(), req, &again).ok());
  ASSERT_EQ(again.sends_size(), 1);
  EXPECT_EQ(again.sends(0).send_id(), on_platform[0]);
}

TEST_F(ExactlyOnceTest, ACarePlanSendWithoutAReferenceIsTheSameSendWhenRetried) {
  // No request_id: the reference (and the key) is derived from the destinations and files.
  v1::SendCarePlanRequest req = PlanToHimawari(2);
  auto sends = [] {
    std::vector<std::string> ids =
        SandboxRows(*stack_->sandbox, "careplan.db",
                    absl::StrCat("SELECT id FROM careplan_sends WHERE from_office = '", kSakura,
                                 "' ORDER BY id"));
    return std::set<std::string>(ids.begin(), ids.end());
  };
  const std::set<std::string> before = sends();
  KillEngineAfter("/api/v1/careplan/sends");
  v1::SendCarePlanResponse sent;
  EXPECT_FALSE(careplan_->SendCarePlan(Context(kSakura, absl::Seconds(60)).get(), req, &sent).ok())
      << sent.DebugString();
  ExpectKilledAndRestart();
  std::set<std::string> on_platform = sends();
  ASSERT_EQ(on_platform.size(), before.size() + 1);
  std::string made;
  for (const std::string& id : on_platform) {
    if (before.count(id) == 0) made = id;
  }

  grpc::Status retried = careplan_->SendCarePlan(Context(kSakura, absl::Seconds(60)).get(), req, &sent);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  ASSERT_EQ(sent.sends_size(), 1);
  ASSERT_TRUE(sent.sends(0).error_code().empty()) << sent.sends(0).error_message();
  EXPECT_EQ(sent.sends(0).send_id(), made);
  EXPECT_EQ(sends(), on_platform) << "exactly one send on the platform";
  std::vector<std::string> evidence = SentEvidence();
  EXPECT_EQ(std::count(evidence.begin(), evidence.end(), made), 1);
}

TEST_F(ExactlyOnceTest, ARequestNotificationKilledAfterThePlatformAcceptedItIsFiledOnce) {
  // No request_id: the key is derived from what the notification says.
  v1::SubmitCarePlanRequestNotificationRequest n;
  n.mutable_insurer()->set_value("131011");
  n.mutable_insured()->set_value("0000100004");  // #4, born 1940-05-28
  n.set_kind(v1::SubmitCarePlanRequestNotificationRequest::KIND_NEW);
  n.set_care_manager_name("佐藤　一郎");
  auto* numbers = n.mutable_numbers();
  numbers->add_documents_checked("介護保険被保険者証");
  numbers->mutable_birth_date()->set_year(1940);
  numbers->mutable_birth_date()->set_month(5);
  numbers->mutable_birth_date()->set_day(28);
  const std::string filed_on_platform = absl::StrCat(
      "SELECT id FROM careplan_requests WHERE office = '", kSakura, "' AND insured = '0000100004'");
  KillEngineAfter("/portal/v1/careplan-requests");
  v1::SubmitCarePlanRequestNotificationResponse receipt;
  EXPECT_FALSE(careplan_
                   ->SubmitCarePlanRequestNotification(Context(kSakura, absl::Seconds(60)).get(), n,
                                                       &receipt)
                   .ok());
  ExpectKilledAndRestart();
  std::vector<std::string> on_platform =
      SandboxRows(*stack_->sandbox, "careplan.db", filed_on_platform);
  ASSERT_EQ(on_platform.size(), 1u);

  grpc::Status retried = careplan_->SubmitCarePlanRequestNotification(
      Context(kSakura, absl::Seconds(60)).get(), n, &receipt);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_EQ(receipt.notification_id(), on_platform[0]);
  EXPECT_EQ(SandboxRows(*stack_->sandbox, "careplan.db", filed_on_platform), on_platform)
      << "exactly one notification on the platform";

  PlatformDown();
  v1::SubmitCarePlanRequestNotificationResponse kept;
  grpc::Status again = careplan_->SubmitCarePlanRequestNotification(
      Context(kSakura, absl::Seconds(60)).get(), n, &kept);
  ASSERT_TRUE(again.ok()) << again.error_message();
  EXPECT_EQ(kept.notification_id(), on_platform[0]);
}

}  // namespace
}  // namespace kaigo::testing

// SubsidyService end to end through engine, plugin and the sandbox's portal over TLS: rules from
// a YAML file named relative to the engine's configuration, estimates, drafts with attachments
// checked by content (one of exactly 20 MiB through the engine), an application filed and followed
// to paid, a second application refused (its findings in the error's details), a returned one
// refused until the month after the first filing, an office whose earlier filing was returned last
// month filing again, drafts surviving an engine restart, and the submission in the verified audit
// chain.
#include <gtest/gtest.h>

#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/v1/subsidy.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/subsidy_drafts.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;
using sdk::FindDetail;

constexpr char kSakura[] = "1371000017";    // 居宅介護支援; its filings are approved
constexpr char kHimawari[] = "1371000025";  // 訪問介護; its filings are returned
constexpr char kAoba[] = "1371000033";      // returned on the 1st of last month (seeded)

absl::CivilDay Today() { return TestToday(); }

// The shipped rules with one round open from 60 days ago to 60 days ahead.
std::string TestRules() { return RulesWithRound("TEST", Today() - 60, Today() + 60); }

class SubsidyE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = PlatformStack::Start(
        {"subsidy_filing"}, [](const SandboxProcess& sandbox, const TempDir& dir) {
          dir.Write("subsidy-rules.yaml", TestRules());
          std::vector<PlatformBinding> bindings = {
              {"kaigo.v1.SubsidyService",
               "subsidy_filing",
               {"rules_file: subsidy-rules.yaml", "rules_check_seconds: 1"}}};
          return PlatformOfficeYaml(sandbox, dir, kSakura, "sakura-cm", "Sakura#2026", bindings) +
                 PlatformOfficeYaml(sandbox, dir, kHimawari, "himawari-staff", "Himawari#2026",
                                    bindings) +
                 PlatformOfficeYaml(sandbox, dir, kAoba, "aoba-cm", "Aoba#2026", bindings);
        });
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    Connect();
  }
  static void TearDownTestSuite() {
    delete stub_;
    delete stack_;
  }
  static void Connect() {
    delete stub_;
    stub_ = v1::SubsidyService::NewStub(InsecureChannel(stack_->engine->target())).release();
  }

  static grpc::Status Attach(const std::string& office, const std::string& app,
                             v1::AttachmentKind kind, const std::string& name,
                             const std::string& content, v1::SubsidyApplication* out,
                             v1::ReceiptCovers covers = {}, int64_t amount = 0,
                             const std::string& line = "") {
    return AttachToDraft(*stub_, office, app, kind, name, content, out, covers, amount, line);
  }
  static v1::SubsidyApplication CompleteDraft(const std::string& office,
                                              const std::string& service_type) {
    return kaigo::testing::CompleteDraft(*stub_, office, service_type);
  }

  static grpc::Status Submit(const std::string& office, const std::string& id,
                             v1::SubsidyApplication* out) {
    v1::SubmitApplicationRequest req;
    req.set_id(id);
    return stub_->SubmitApplication(Context(office, absl::Seconds(30)).get(), req, Into(out));
  }

  static v1::SubsidyStatus Status(const std::string& office, const std::string& id) {
    v1::GetStatusRequest req;
    req.set_id(id);
    v1::SubsidyStatus status;
    grpc::Status s = stub_->GetStatus(Context(office).get(), req, Into(&status));
    EXPECT_TRUE(s.ok()) << s.error_message();
    return status;
  }

  static void Advance(const std::string& portal_id) {
    ASSERT_TRUE(
        stack_->sandbox->Faults(R"({"advance_subsidy": {"application_id": ")" + portal_id + "\"}}")
            .ok());
  }

  static PlatformStack* stack_;
  static v1::SubsidyService::Stub* stub_;
};

PlatformStack* SubsidyE2eTest::stack_ = nullptr;
v1::SubsidyService::Stub* SubsidyE2eTest::stub_ = nullptr;

TEST_F(SubsidyE2eTest, RulesComeFromTheFileAndEstimatesExplainEachStep) {
  v1::SubsidyRules rules;
  ASSERT_TRUE(stub_->GetRules(Context(kSakura).get(), {}, Into(&rules)).ok());
  ASSERT_EQ(rules.rounds_size(), 1);
  EXPECT_EQ(rules.rounds(0).name(), "TEST");
  ASSERT_EQ(rules.categories_size(), 3);
  EXPECT_GT(rules.categories(0).service_types_size(), 10);

  v1::EstimateRequest req;
  req.add_service_types()->set_value("78");  // その他: 1 reader, ¥42,000
  req.set_readers(2);
  req.mutable_reader_cost()->set_amount(30000);
  req.mutable_support_cost()->set_amount(40000);
  v1::EstimateResponse estimate;
  ASSERT_TRUE(stub_->Estimate(Context(kSakura).get(), req, &estimate).ok());
  EXPECT_EQ(estimate.grant().amount(), 42000);
  EXPECT_EQ(estimate.eligible_reader_cost().amount(), 15000);
  EXPECT_EQ(estimate.explanation(estimate.explanation_size() - 1),
            "Grant = min(¥55,000, cap ¥42,000) = ¥42,000");

  req.mutable_service_types(0)->set_value("4X");
  grpc::Status bad = stub_->Estimate(Context(kSakura).get(), req, &estimate);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad.error_message(),
            "service_types[0].value: '4X' is not a サービス種類コード in the rules");
}

TEST_F(SubsidyE2eTest, ACreateRetriedWithItsRequestIdMakesOneDraft) {
  v1::CreateApplicationRequest create;
  *create.mutable_form() = SubsidyForm("43");
  create.set_request_id("create-sakura-0001");
  v1::SubsidyApplication first, retried;
  ASSERT_TRUE(stub_->CreateApplication(Context(kSakura).get(), create, Into(&first)).ok());
  ASSERT_TRUE(stub_->CreateApplication(Context(kSakura).get(), create, Into(&retried)).ok());
  EXPECT_EQ(retried.id(), first.id());
  EXPECT_EQ(retried.revision(), first.revision());

  // The same request_id with another form is another request: refused, nothing made.
  create.mutable_form()->set_office_name("別の事業所");
  v1::CreateApplicationResponse other;
  grpc::Status reused = stub_->CreateApplication(Context(kSakura).get(), create, &other);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << reused.error_message();
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(reused.error_details()));
  ASSERT_GT(details.details_size(), 0);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "REQUEST_ID_REUSED");
}

TEST_F(SubsidyE2eTest, AttachmentsAreCheckedByContentCountAndSize) {
  v1::CreateApplicationRequest create;
  *create.mutable_form() = SubsidyForm("43");
  v1::SubsidyApplication app;
  ASSERT_TRUE(stub_->CreateApplication(Context(kSakura).get(), create, Into(&app)).ok());

  // A HEIC photo named .jpg is refused, and said to be HEIC.
  grpc::Status heic = Attach(kSakura, app.id(), v1::ATTACHMENT_KIND_PASSBOOK, "passbook.jpg",
                             std::string("\0\0\0\x18"
                                         "ftypheic\0\0\0\0",
                                         16) +
                                 std::string(100, 'x'),
                             &app);
  EXPECT_EQ(heic.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(heic.error_message().find("HEIC"), std::string::npos) << heic.error_message();
  google::rpc::BadRequest bad;
  ASSERT_TRUE(FindDetail(WithDetails(heic), &bad));
  EXPECT_EQ(bad.field_violations(0).field(), "content");
  EXPECT_EQ(bad.field_violations(0).reason(), "FILE_TYPE");
  EXPECT_EQ(bad.field_violations(0).localized_message().locale(), "ja-JP");
  // A PDF named .png is taken for what it is.
  ASSERT_TRUE(
      Attach(kSakura, app.id(), v1::ATTACHMENT_KIND_PASSBOOK, "passbook.png", SamplePdf("p"), &app)
          .ok());
  EXPECT_EQ(app.attachments(0).detected_type(), v1::FILE_TYPE_PDF);
  // One passbook copy at most.
  grpc::Status second =
      Attach(kSakura, app.id(), v1::ATTACHMENT_KIND_PASSBOOK, "p2.pdf", SamplePdf("p"), &app);
  EXPECT_EQ(second.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(second.error_message(), "kind: at most 1 file(s) of this kind; remove one first");
  google::rpc::ErrorInfo limit;
  ASSERT_TRUE(FindDetail(WithDetails(second), &limit));
  EXPECT_EQ(limit.reason(), "ATTACHMENT_LIMIT");
  EXPECT_EQ(limit.metadata().at("max_files"), "1");
  // Exactly 20 MiB passes through the engine; one byte more is refused.
  constexpr size_t kLimit = 20 << 20;
  ASSERT_TRUE(Attach(kSakura, app.id(), v1::ATTACHMENT_KIND_SERVICE_TYPE_DOCUMENT, "big.jpg",
                     SampleJpeg(kLimit), &app)
                  .ok());
  EXPECT_EQ(app.attachments(1).size_bytes(), static_cast<int64_t>(kLimit));
  grpc::Status big = Attach(kSakura, app.id(), v1::ATTACHMENT_KIND_SERVICE_TYPE_DOCUMENT,
                            "bigger.jpg", SampleJpeg(kLimit + 1), &app);
  EXPECT_EQ(big.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(big.error_message(),
            "content: 20971521 bytes; each file may be at most 20971520 bytes (20 MB)");
  // Receipts say what they are for and how much.
  grpc::Status bare =
      Attach(kSakura, app.id(), v1::ATTACHMENT_KIND_RECEIPT, "r.pdf", SamplePdf("r"), &app);
  EXPECT_EQ(bare.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bare.error_message().find("receipt.covers"), std::string::npos);
  ASSERT_TRUE(FindDetail(WithDetails(bare), &bad));
  EXPECT_EQ(bad.field_violations(0).field(), "receipt.covers");
  // Removing frees the slot.
  v1::RemoveAttachmentRequest remove;
  remove.set_application_id(app.id());
  remove.set_attachment_id(app.attachments(0).id());
  ASSERT_TRUE(stub_->RemoveAttachment(Context(kSakura).get(), remove, Into(&app)).ok());
  EXPECT_TRUE(
      Attach(kSakura, app.id(), v1::ATTACHMENT_KIND_PASSBOOK, "p3.pdf", SamplePdf("p"), &app).ok());
}

TEST_F(SubsidyE2eTest, AnApplicationIsFiledAndFollowedToPaidAndASecondIsRefused) {
  v1::SubsidyApplication app = CompleteDraft(kSakura, "43");
  ASSERT_EQ(app.attachments_size(), 4);
  EXPECT_EQ(app.grant().grant().amount(), 50000);

  v1::ValidateApplicationRequest validate;
  validate.set_id(app.id());
  v1::ApplicationReport report;
  ASSERT_TRUE(stub_->ValidateApplication(Context(kSakura).get(), validate, Into(&report)).ok());
  EXPECT_TRUE(report.ok()) << report.DebugString();
  EXPECT_EQ(report.round(), "TEST");

  v1::SubsidyApplication filed;
  grpc::Status s = Submit(kSakura, app.id(), &filed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(filed.status(), v1::APPLICATION_STATUS_SUBMITTED);
  EXPECT_FALSE(filed.portal_application_id().empty());
  EXPECT_EQ(filed.submit_date().year(), Today().year());
  for (const auto& a : filed.attachments()) EXPECT_FALSE(a.portal_id().empty());
  // A retried Submit is the same filing.
  v1::SubsidyApplication again;
  ASSERT_TRUE(Submit(kSakura, app.id(), &again).ok());
  EXPECT_EQ(again.portal_application_id(), filed.portal_application_id());

  // Submitted applications cannot be changed.
  v1::UpdateApplicationRequest update;
  update.set_id(app.id());
  *update.mutable_form() = SubsidyForm("43");
  v1::SubsidyApplication ignored;
  EXPECT_EQ(stub_->UpdateApplication(Context(kSakura).get(), update, Into(&ignored)).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  const v1::ApplicationStatus expected[] = {v1::APPLICATION_STATUS_UNDER_REVIEW,
                                            v1::APPLICATION_STATUS_APPROVED,
                                            v1::APPLICATION_STATUS_PAID};
  for (v1::ApplicationStatus next : expected) {
    Advance(filed.portal_application_id());
    EXPECT_EQ(Status(kSakura, app.id()).status(), next);
  }
  v1::SubsidyStatus paid = Status(kSakura, app.id());
  EXPECT_EQ(paid.granted().amount(), 50000);
  EXPECT_EQ(paid.payment_date().year(), Today().year());
  ASSERT_EQ(paid.history_size(), 4);
  EXPECT_EQ(paid.history(0).status(), v1::APPLICATION_STATUS_SUBMITTED);
  EXPECT_EQ(paid.history(3).status(), v1::APPLICATION_STATUS_PAID);
  v1::GetApplicationRequest get;
  get.set_id(app.id());
  v1::SubsidyApplication stored;
  ASSERT_TRUE(stub_->GetApplication(Context(kSakura).get(), get, Into(&stored)).ok());
  EXPECT_EQ(stored.status(), v1::APPLICATION_STATUS_PAID);

  // One application per office number.
  v1::SubsidyApplication second = CompleteDraft(kSakura, "43");
  validate.set_id(second.id());
  ASSERT_TRUE(stub_->ValidateApplication(Context(kSakura).get(), validate, Into(&report)).ok());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.errors(0).rule(), "one application per office number");
  grpc::Status refused = Submit(kSakura, second.id(), &ignored);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("is paid; an office applies once"), std::string::npos)
      << refused.error_message();
  // The same for a program: every finding a violation, and the reason to react on.
  absl::Status why = WithDetails(refused);
  google::rpc::PreconditionFailure findings;
  ASSERT_TRUE(FindDetail(why, &findings)) << refused.error_details().size();
  ASSERT_EQ(findings.violations_size(), report.errors_size());
  EXPECT_EQ(findings.violations(0).type(), "SUBSIDY_RULE: one application per office number");
  EXPECT_EQ(findings.violations(0).subject(), report.errors(0).field());
  EXPECT_EQ(findings.violations(0).description(), report.errors(0).message());
  google::rpc::ErrorInfo broken;
  ASSERT_TRUE(FindDetail(why, &broken));
  EXPECT_EQ(broken.reason(), "SUBSIDY_RULES_BROKEN");
  EXPECT_EQ(broken.domain(), "kaigo-bridge");
  EXPECT_EQ(broken.metadata().at("findings"), std::to_string(report.errors_size()));
  google::rpc::LocalizedMessage staff;
  ASSERT_TRUE(FindDetail(why, &staff));
  EXPECT_EQ(staff.locale(), "ja-JP");

  // The submission is in the audit chain, and the chain verifies.
  CommandResult verify = RunCommand(EngineBinary() + " audit verify --config " + stack_->config);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

TEST_F(SubsidyE2eTest, AReturnedApplicationWaitsForTheNextMonth) {
  v1::SubsidyApplication app = CompleteDraft(kHimawari, "11");
  v1::SubsidyApplication filed;
  ASSERT_TRUE(Submit(kHimawari, app.id(), &filed).ok());
  Advance(filed.portal_application_id());
  Advance(filed.portal_application_id());
  v1::SubsidyStatus returned = Status(kHimawari, app.id());
  ASSERT_EQ(returned.status(), v1::APPLICATION_STATUS_RETURNED);
  ASSERT_EQ(returned.return_reasons_size(), 1);
  EXPECT_NE(returned.return_reasons(0).find("型番"), std::string::npos);
  absl::CivilDay next_month(absl::CivilMonth(Today()) + 1);
  EXPECT_EQ(returned.resubmit_from_date().month(), next_month.month());
  EXPECT_EQ(returned.resubmit_from_date().day(), 1);

  // Unchanged, it is not filed again.
  v1::SubsidyApplication ignored;
  grpc::Status unchanged = Submit(kHimawari, app.id(), &ignored);
  EXPECT_EQ(unchanged.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(unchanged.error_message().find("nothing has changed"), std::string::npos);
  google::rpc::PreconditionFailure reasons;
  ASSERT_TRUE(FindDetail(WithDetails(unchanged), &reasons));
  ASSERT_EQ(reasons.violations_size(), 1);
  EXPECT_EQ(reasons.violations(0).type(), "PORTAL_RETURN_REASON");
  EXPECT_EQ(reasons.violations(0).description(), returned.return_reasons(0));

  // Fixed, it still waits for the month after the first filing.
  v1::UpdateApplicationRequest update;
  update.set_id(app.id());
  *update.mutable_form() = SubsidyForm("11");
  update.mutable_form()->mutable_readers()->set_model("ACR39-NTTCom (型番 ACR39U-NF)");
  ASSERT_TRUE(stub_->UpdateApplication(Context(kHimawari).get(), update, Into(&ignored)).ok());
  grpc::Status early = Submit(kHimawari, app.id(), &ignored);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(early.error_message().find("may be filed again from " +
                                       absl::FormatCivilTime(next_month).substr(0, 10)),
            std::string::npos)
      << early.error_message();

  // Validate on that day: the timing rule is met (the round is open until 60 days ahead).
  v1::ValidateApplicationRequest validate;
  validate.set_id(app.id());
  validate.mutable_application_date()->set_year(static_cast<int32_t>(next_month.year()));
  validate.mutable_application_date()->set_month(next_month.month());
  validate.mutable_application_date()->set_day(1);
  v1::ApplicationReport report;
  ASSERT_TRUE(stub_->ValidateApplication(Context(kHimawari).get(), validate, Into(&report)).ok());
  EXPECT_TRUE(report.ok()) << report.DebugString();

  // Outside the round (the day after it closes), the date is named.
  absl::CivilDay closed = Today() + 61;
  validate.mutable_application_date()->set_year(static_cast<int32_t>(closed.year()));
  validate.mutable_application_date()->set_month(closed.month());
  validate.mutable_application_date()->set_day(closed.day());
  ASSERT_TRUE(stub_->ValidateApplication(Context(kHimawari).get(), validate, Into(&report)).ok());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.errors(0).field(), "application_date");
  EXPECT_NE(report.errors(0).message().find("no subsidy round is open"), std::string::npos);
}

TEST_F(SubsidyE2eTest, AnOfficeReturnedLastMonthFilesAgain) {
  v1::SubsidyApplication app = CompleteDraft(kAoba, "43");
  v1::SubsidyApplication filed;
  grpc::Status s = Submit(kAoba, app.id(), &filed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(filed.status(), v1::APPLICATION_STATUS_SUBMITTED);
}

TEST_F(SubsidyE2eTest, AnEditedRulesFileTakesEffectWithoutAReload) {
  std::string path = stack_->dir->path() + "/subsidy-rules.yaml";
  std::string rules = TestRules();
  auto cap_of_other = [] {
    v1::SubsidyRules now;
    EXPECT_TRUE(stub_->GetRules(Context(kSakura).get(), {}, Into(&now)).ok());
    return now.categories(2).cap().amount();
  };
  ASSERT_EQ(cap_of_other(), 42000);
  stack_->dir->Write("subsidy-rules.yaml",
                     std::regex_replace(rules, std::regex("amount: 42000"), "amount: 45000"));
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (cap_of_other() != 45000 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(cap_of_other(), 45000);

  // A broken edit leaves the last good rules in force, and the log says why.
  stack_->dir->Write("subsidy-rules.yaml", rules + "\nnot_a_rule: 1\n");
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_EQ(cap_of_other(), 45000);
  EXPECT_NE(stack_->engine->Log().find("the previous rules stay in force"), std::string::npos);
  stack_->dir->Write("subsidy-rules.yaml", rules);
  deadline = absl::Now() + absl::Seconds(10);
  while (cap_of_other() != 42000 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(cap_of_other(), 42000);
}

TEST_F(SubsidyE2eTest, DraftsSurviveAnEngineRestart) {
  v1::SubsidyApplication app = CompleteDraft(kHimawari, "11");
  stack_->engine->Stop();
  auto engine = EngineProcess::Start(stack_->config);
  ASSERT_TRUE(engine.ok()) << engine.status();
  stack_->engine = *std::move(engine);
  Connect();
  v1::GetApplicationRequest get;
  get.set_id(app.id());
  v1::SubsidyApplication stored;
  ASSERT_TRUE(stub_->GetApplication(Context(kHimawari).get(), get, Into(&stored)).ok());
  EXPECT_EQ(stored.attachments_size(), 4);
  EXPECT_EQ(stored.attachments(3).sha256(), app.attachments(3).sha256());
  v1::ListApplicationsResponse list;
  ASSERT_TRUE(stub_->ListApplications(Context(kHimawari).get(), {}, &list).ok());
  EXPECT_GE(list.applications_size(), 1);
}

}  // namespace
}  // namespace kaigo::testing

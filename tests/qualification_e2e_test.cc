// QualificationService end to end: gRPC client → engine → qualification plugin → TLS 1.3 with the
// office's PKCS#12 certificate → sandbox. Every care level and verdict, municipalities not yet
// live, invalid numbers (and the C++ example reading their details), what a medical institution may
// not see, a token refreshed unnoticed, the sandbox down and back, and the audit chain with no
// personal values in it.
#include <gtest/gtest.h>

#include "kaigo/v1/qualification.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;

constexpr char kSakura[] = "1371000017";
constexpr char kMidori[] = "1312345670";
constexpr char kHimawari[] = "1371000025";  // configured with a 2-second cache

class QualificationE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = PlatformStack::Start({"qualification"}, [](const SandboxProcess& sandbox,
                                                            const TempDir& dir) {
      std::vector<PlatformBinding> bindings = {
          {"kaigo.v1.QualificationService", "qualification", {"cache_ttl_seconds: 0"}}};
      return PlatformOfficeYaml(sandbox, dir, kSakura, "sakura-cm", "Sakura#2026", bindings) +
             PlatformOfficeYaml(sandbox, dir, kMidori, "midori-dr", "Midori#2026", bindings) +
             PlatformOfficeYaml(
                 sandbox, dir, kHimawari, "himawari-staff", "Himawari#2026",
                 {{"kaigo.v1.QualificationService", "qualification", {"cache_ttl_seconds: 2"}}});
    });
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    sandbox_ = stack_->sandbox.get();
    dir_ = stack_->dir.get();
    config_ = stack_->config;
    stub_ = v1::QualificationService::NewStub(InsecureChannel(stack_->engine->target())).release();
  }
  static void TearDownTestSuite() {
    delete stub_;
    delete stack_;
  }

  static grpc::Status Lookup(const std::string& office, const std::string& insurer,
                             const std::string& insured, v1::QualificationResult* result) {
    v1::LookupByInsuredNumberRequest request;
    request.mutable_insurer()->set_value(insurer);
    request.mutable_insured()->set_value(insured);
    return stub_->LookupByInsuredNumber(Context(office).get(), request, Into(result));
  }
  static v1::QualificationResult Recipient(int i, const std::string& office = kSakura) {
    v1::QualificationResult result;
    char insured[11];
    snprintf(insured, sizeof insured, "00001%05d", i);
    std::string insurer = i <= 40 ? "131011" : "122069";
    auto status = Lookup(office, insurer, insured, &result);
    EXPECT_TRUE(status.ok()) << "#" << i << ": " << status.error_message();
    return result;
  }

  static PlatformStack* stack_;
  static SandboxProcess* sandbox_;
  static TempDir* dir_;
  static std::string config_;
  static v1::QualificationService::Stub* stub_;
};

PlatformStack* QualificationE2eTest::stack_ = nullptr;
SandboxProcess* QualificationE2eTest::sandbox_ = nullptr;
TempDir* QualificationE2eTest::dir_ = nullptr;
std::string QualificationE2eTest::config_;
v1::QualificationService::Stub* QualificationE2eTest::stub_ = nullptr;

TEST_F(QualificationE2eTest, EveryCareLevel) {
  const std::vector<std::pair<int, v1::CareLevel>> cases = {
      {1, v1::CARE_LEVEL_PROJECT_SUBJECT}, {2, v1::CARE_LEVEL_SUPPORT_1},
      {3, v1::CARE_LEVEL_SUPPORT_2},       {4, v1::CARE_LEVEL_CARE_1},
      {5, v1::CARE_LEVEL_CARE_2},          {6, v1::CARE_LEVEL_CARE_3},
      {16, v1::CARE_LEVEL_CARE_4},         {8, v1::CARE_LEVEL_CARE_5},
      {18, v1::CARE_LEVEL_APPLYING},       {45, v1::CARE_LEVEL_NOT_APPLICABLE}};
  for (const auto& [i, level] : cases) {
    auto r = Recipient(i);
    EXPECT_EQ(r.care_level(), level) << "#" << i;
  }
  auto care1 = Recipient(4);
  EXPECT_EQ(care1.verdict(), v1::QUALIFICATION_VERDICT_VALID);
  EXPECT_EQ(care1.monthly_limit_units(), 16765);
  EXPECT_EQ(care1.copay_percent(), 10);
  EXPECT_EQ(care1.cost_limit_stage(), v1::COST_LIMIT_STAGE_3B);
  EXPECT_EQ(care1.home_modification_used().amount(), 120000);
  EXPECT_EQ(care1.home_modification_remaining().amount(), 80000);
}

TEST_F(QualificationE2eTest, EveryVerdict) {
  EXPECT_EQ(Recipient(4).verdict(), v1::QUALIFICATION_VERDICT_VALID);
  EXPECT_EQ(Recipient(7).verdict(), v1::QUALIFICATION_VERDICT_INVALID);
  EXPECT_EQ(Recipient(9).verdict(), v1::QUALIFICATION_VERDICT_NEWER_EXISTS);
  EXPECT_EQ(Recipient(19).verdict(), v1::QUALIFICATION_VERDICT_SEVERAL_FOUND);
  EXPECT_EQ(Recipient(99999).verdict(), v1::QUALIFICATION_VERDICT_NOT_FOUND);
  v1::QualificationResult h;
  ASSERT_TRUE(Lookup(kSakura, "131011", "H123456789", &h).ok());
  EXPECT_EQ(h.verdict(), v1::QUALIFICATION_VERDICT_VALID);
}

TEST_F(QualificationE2eTest, MunicipalityNotYetLive) {
  v1::QualificationResult r;
  auto future = Lookup(kSakura, "122192", "0000100046", &r);
  EXPECT_EQ(future.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(future.error_message().find("goes live on " + IchiharaGoesLive()), std::string::npos)
      << future.error_message();
  auto never = Lookup(kSakura, "435073", "0000100049", &r);
  EXPECT_EQ(never.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(never.error_message().find("has not scheduled"), std::string::npos);
}

TEST_F(QualificationE2eTest, InvalidNumbersNameTheFieldAndRule) {
  v1::QualificationResult r;
  struct Case {
    const char* insurer;
    const char* insured;
    const char* expected;
  };
  for (const auto& c :
       {Case{"131012", "0000100004", "insurer.value: \"131012\": check digit is 2, expected 1"},
        Case{"13101", "0000100004", "insurer.value: \"13101\" must be 6 half-width digits"},
        Case{"131011", "00001004", "insured.value: \"00001004\" must be 10"},
        Case{"131011", "00001000a4", "insured.value: \"00001000a4\" must be 10"},
        Case{"13101a", "0000100004", "insurer.value"}}) {
    auto s = Lookup(kSakura, c.insurer, c.insured, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.insurer << "/" << c.insured;
    EXPECT_NE(s.error_message().find(c.expected), std::string::npos) << s.error_message();
  }
}

// examples/cpp/office_session.cc against this engine: its lookups answer, and its typo is shown
// with the field and the rule read from the error's details. (This office has no certification
// concern, so its download ends the session with 1.)
TEST_F(QualificationE2eTest, TheCppExampleShowsTheDetailsOfARefusal) {
  CommandResult session = RunCommand(BuildDir() + "/examples/office_session " +
                                     stack_->engine->target() + " " + kSakura);
  EXPECT_NE(session.output.find("131011-0000100004: QUALIFICATION_VERDICT_VALID"),
            std::string::npos)
      << session.output;
  EXPECT_NE(session.output.find("入力ミスの例 (a typo): INVALID_ARGUMENT: insurer.value: "),
            std::string::npos)
      << session.output;
  EXPECT_NE(session.output.find("field insurer.value: INSURER_NUMBER"), std::string::npos)
      << session.output;
}

TEST_F(QualificationE2eTest, MedicalInstitutionDoesNotSeeCopayOrCostLimit) {
  auto r = Recipient(4, kMidori);
  EXPECT_EQ(r.care_level(), v1::CARE_LEVEL_CARE_1);
  EXPECT_EQ(r.copay_percent(), 0);
  EXPECT_EQ(r.cost_limit_stage(), v1::COST_LIMIT_STAGE_UNSPECIFIED);
}

TEST_F(QualificationE2eTest, ExpiredTokenIsRefreshedUnnoticed) {
  Recipient(4);
  ASSERT_TRUE(sandbox_->Faults(R"({"expire_access_tokens": true})").ok());
  EXPECT_EQ(Recipient(4).verdict(), v1::QUALIFICATION_VERDICT_VALID);
}

TEST_F(QualificationE2eTest, CacheServesWithinItsTtlAndNeverOlder) {
  v1::QualificationResult first, cached, late;
  ASSERT_TRUE(Lookup(kHimawari, "131011", "0000100004", &first).ok());
  sandbox_->Stop();
  auto within = Lookup(kHimawari, "131011", "0000100004", &cached);
  EXPECT_TRUE(within.ok()) << "served from the cache while the platform is down";
  EXPECT_EQ(cached.SerializeAsString(), first.SerializeAsString());
  absl::SleepFor(absl::Milliseconds(2100));
  auto after = Lookup(kHimawari, "131011", "0000100004", &late);
  EXPECT_EQ(after.error_code(), grpc::StatusCode::UNAVAILABLE) << "older than the TTL: not served";
  ASSERT_TRUE(sandbox_->Restart().ok());
}

TEST_F(QualificationE2eTest, SandboxDownThenBack) {
  sandbox_->Stop();
  v1::QualificationResult r;
  auto down = Lookup(kSakura, "131011", "0000100004", &r);
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE) << down.error_message();
  ASSERT_TRUE(sandbox_->Restart().ok());
  EXPECT_EQ(Recipient(4).verdict(), v1::QUALIFICATION_VERDICT_VALID);
}

// Last: it reads the audit log the other tests wrote.
// Fail closed: while the audit log refuses records (here a trigger stands for a full disk), no
// answer about a recipient is given.
TEST_F(QualificationE2eTest, YAnAnswerThatCannotBeAuditedIsNotGiven) {
  std::string db = dir_->path() + "/state.db";
  CommandResult broken = RefuseAuditRecords(db, true);
  ASSERT_EQ(broken.exit_code, 0) << broken.output;
  v1::QualificationResult r;
  auto refused = Lookup(kSakura, "131011", "0000100004", &r);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(refused.error_message(),
            "the access could not be recorded in the audit log, so nothing was disclosed; try "
            "again");
  EXPECT_FALSE(r.has_recipient());
  ASSERT_EQ(RefuseAuditRecords(db, false).exit_code, 0);
  EXPECT_TRUE(Lookup(kSakura, "131011", "0000100004", &r).ok());
}

TEST_F(QualificationE2eTest, ZEveryAnswerIsAuditedWithoutPersonalValues) {
  // The staff member the care system says is acting goes into the audit record with the caller.
  v1::LookupByInsuredNumberRequest request;
  request.mutable_insurer()->set_value("131011");
  request.mutable_insured()->set_value("0000100004");
  v1::QualificationResult result;
  auto context = Context(kSakura);
  context->AddMetadata("x-kaigo-user", "staff-0421");
  ASSERT_TRUE(stub_->LookupByInsuredNumber(context.get(), request, Into(&result)).ok());
  context = Context(kSakura);
  context->AddMetadata("x-kaigo-user", std::string(129, 'x'));
  auto refused = stub_->LookupByInsuredNumber(context.get(), request, Into(&result));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message(),
            "metadata x-kaigo-user: at most 128 bytes of text without control characters");

  CommandResult verify = RunCommand(EngineBinary() + " audit verify --config " + config_);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("audit log intact"), std::string::npos) << verify.output;
  std::string db = ReadFile(dir_->path() + "/state.db") + ReadFile(dir_->path() + "/state.db-wal");
  EXPECT_NE(db.find("LookupByInsuredNumber"), std::string::npos) << "records were written";
  EXPECT_NE(db.find("staff-0421"), std::string::npos) << "the acting staff member is recorded";
  EXPECT_EQ(db.find("0000100004"), std::string::npos) << "no insured number in the store";
}

}  // namespace
}  // namespace kaigo::testing

// Qualification on the SDK's fake host, the platform scripted (fake_platform.h): what a lookup
// asks the platform, the verdict it answers, the disclosure it audits, and the TTL cache (a second
// lookup within the TTL asks nothing, each web-service user's answers kept apart).
#include "qualification.h"

#include <gtest/gtest.h>

#include "fake_platform.h"
#include "kaigo/plugins/v1/platform_config.pb.h"
#include "kaigo/sdk/fake_host.h"
#include "kaigo/v1/qualification.pb.h"
#include "unreachable_platform.h"

namespace kaigo::plugins::qualification {
namespace {

namespace v1 = kaigo::v1;
using platform::testing::FakePlatform;
using sdk::testing::FakeHost;

constexpr char kLookup[] = "/kaigo.v1.QualificationService/LookupByInsuredNumber";
constexpr char kCertificate[] = "/api/v1/insured-certificate";

const kaigo_plugin_api* Api() { return FakePlatform::Exported<&DefineWith>(); }

std::string Certificate(const std::string& valid_to) {
  return R"({"as_of":"2026-11-24","records":[{"insurer_number":"131011",
    "insured_number":"0000100004","certification_status":"certified","care_level_code":"21",
    "certified_on":"2026-05-10","valid_from":"2026-05-10","valid_to":")" +
         valid_to + R"(","monthly_limit_units":16765,"superseded":false}]})";
}

class QualificationTest : public ::testing::Test {
 protected:
  void Load(int ttl_seconds) {
    kaigo::plugins::v1::QualificationConfig config;
    config.set_cache_ttl_seconds(ttl_seconds);
    platform::testing::UseUnreachablePlatform(&host_, config.mutable_platform());
    auto* care_manager = config.mutable_platform()->add_accounts();
    care_manager->set_role(kaigo::options::v1::ROLE_CARE_MANAGER);
    host_.SetSecret("cm_user", "care-manager-user");
    host_.SetSecret("cm_password", "pw");
    care_manager->set_user_id_secret("cm_user");
    care_manager->set_password_secret("cm_password");
    ASSERT_TRUE(host_.Load(Api(), config.SerializeAsString()).ok());
  }

  absl::StatusOr<v1::QualificationResult> Lookup(std::vector<std::string> roles = {}) {
    v1::LookupByInsuredNumberRequest req;
    req.mutable_insurer()->set_value("131011");
    req.mutable_insured()->set_value("0000100004");
    req.mutable_as_of_date()->set_year(2026);
    req.mutable_as_of_date()->set_month(11);
    req.mutable_as_of_date()->set_day(24);
    sdk::testing::CallResult r =
        host_.Call(kLookup, req.SerializeAsString(), absl::Seconds(10), std::move(roles));
    if (!r.status.ok()) return r.status;
    v1::LookupByInsuredNumberResponse response;
    if (!response.ParseFromString(r.response)) return absl::InternalError("unparsable");
    return response.qualification();
  }

  FakePlatform platform_;  // before the host: the plugin's clients send to it until unloaded
  FakeHost host_;
};

TEST_F(QualificationTest, TheVerdictIsThePlatformsRecordOnTheDateAsked) {
  platform_.On("GET", kCertificate, FakePlatform::Json(Certificate("2027-05-09")));
  Load(0);
  auto result = Lookup();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->verdict(), v1::QUALIFICATION_VERDICT_VALID);
  EXPECT_EQ(result->care_level(), v1::CARE_LEVEL_CARE_1);

  auto sent = platform_.Requests("GET", kCertificate);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].path, std::string(kCertificate) +
                              "?insurer_number=131011&insured_number=0000100004&as_of=2026-11-24");
  EXPECT_EQ(sent[0].user_id, "value of user");  // no role asked: the default user
  ASSERT_EQ(host_.Audits().size(), 1u);
  EXPECT_EQ(host_.Audits()[0].detail, "QUALIFICATION_VERDICT_VALID");
  EXPECT_EQ(host_.Audits()[0].subject_ref.find("0000100004"), std::string::npos)
      << "a keyed reference, never the number";
}

TEST_F(QualificationTest, ARecordPastItsEndIsInvalid) {
  platform_.On("GET", kCertificate, FakePlatform::Json(Certificate("2026-11-23")));
  Load(0);
  auto result = Lookup();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->verdict(), v1::QUALIFICATION_VERDICT_INVALID);
}

TEST_F(QualificationTest, ThePlatformsRefusalReachesTheCaller) {
  platform_.On("GET", kCertificate,
               FakePlatform::Json(R"({"error":{"code":"FORBIDDEN","message":"no"}})", 403));
  Load(0);
  EXPECT_EQ(Lookup().status().code(), absl::StatusCode::kPermissionDenied);
  ASSERT_EQ(host_.Audits().size(), 1u);
  EXPECT_EQ(host_.Audits()[0].outcome, static_cast<int32_t>(absl::StatusCode::kPermissionDenied));
}

TEST_F(QualificationTest, WithinTheTtlASecondLookupAsksNothing) {
  platform_.On("GET", kCertificate, FakePlatform::Json(Certificate("2027-05-09")));
  Load(300);
  ASSERT_TRUE(Lookup().ok());
  auto again = Lookup();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->verdict(), v1::QUALIFICATION_VERDICT_VALID);
  EXPECT_EQ(platform_.Count("GET", kCertificate), 1);
  EXPECT_EQ(host_.Audits().size(), 2u) << "each disclosure audited, cached or not";
}

TEST_F(QualificationTest, WithoutATtlEveryLookupAsksThePlatform) {
  platform_.On("GET", kCertificate, FakePlatform::Json(Certificate("2027-05-09")));
  Load(0);
  ASSERT_TRUE(Lookup().ok());
  ASSERT_TRUE(Lookup().ok());
  EXPECT_EQ(platform_.Count("GET", kCertificate), 2);
}

TEST_F(QualificationTest, EachUsersAnswersAreCachedApart) {
  platform_.On("GET", kCertificate, FakePlatform::Json(Certificate("2027-05-09")));
  Load(300);
  ASSERT_TRUE(Lookup().ok());
  ASSERT_TRUE(Lookup({"care_manager"}).ok());
  ASSERT_TRUE(Lookup({"care_manager"}).ok());
  auto sent = platform_.Requests("GET", kCertificate);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].user_id, "value of user");
  EXPECT_EQ(sent[1].user_id, "care-manager-user");
}

TEST_F(QualificationTest, AnErrorIsNotCached) {
  platform_.On("GET", kCertificate,
               FakePlatform::InTurn(
                   {FakePlatform::Json("{}", 503), FakePlatform::Json(Certificate("2027-05-09"))}));
  Load(300);
  EXPECT_EQ(Lookup().status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(Lookup().ok());
  EXPECT_EQ(platform_.Count("GET", kCertificate), 2);
}

}  // namespace
}  // namespace kaigo::plugins::qualification

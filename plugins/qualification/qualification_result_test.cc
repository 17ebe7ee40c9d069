#include "qualification_result.h"

#include <gtest/gtest.h>

namespace kaigo::plugins::qualification {
namespace {

namespace v1 = kaigo::v1;

std::string Record(const std::string& extra) {
  return R"({"insurer_number":"131011","insured_number":"0000100004",
    "certification_status":"certified","care_level_code":"21","certified_on":"2026-05-10",
    "valid_from":"2026-05-10","valid_to":"2027-05-09","monthly_limit_units":16765,
    "superseded":false,"home_modification_used_yen":180000,"equipment_purchase_used_yen":95000,
    "equipment_purchase_fiscal_year":2026,
    "copay":{"percent":20,"valid_from":"2026-08-01","valid_to":"2027-07-31"},
    "cost_limit":{"stage":"3A","valid_from":"2026-08-01","valid_to":"2027-07-31"})" +
         extra + "}";
}

v1::QualificationResult Parse(const std::string& records, const std::string& as_of = "2026-11-24") {
  auto r =
      ParseInsuredCertificate(R"({"as_of":")" + as_of + R"(","records":[)" + records + "]}", as_of);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : v1::QualificationResult();
}

TEST(QualificationResultTest, ValidRecordWithEveryField) {
  auto r = Parse(Record(""));
  EXPECT_EQ(r.verdict(), v1::QUALIFICATION_VERDICT_VALID);
  EXPECT_EQ(r.care_level(), v1::CARE_LEVEL_CARE_1);
  EXPECT_EQ(r.care_level_period().end().year(), 2027);
  EXPECT_EQ(r.monthly_limit_units(), 16765);
  EXPECT_EQ(r.copay_percent(), 20);
  EXPECT_EQ(r.cost_limit_stage(), v1::COST_LIMIT_STAGE_3A);
  EXPECT_EQ(r.home_modification_used().amount(), 180000);
  EXPECT_EQ(r.home_modification_remaining().amount(), 20000);
  EXPECT_EQ(r.equipment_purchase_used().amount(), 95000);
  EXPECT_EQ(r.equipment_purchase_remaining().amount(), 5000);
}

TEST(QualificationResultTest, Verdicts) {
  EXPECT_EQ(Parse("").verdict(), v1::QUALIFICATION_VERDICT_NOT_FOUND);
  EXPECT_EQ(Parse(Record("") + "," + Record("")).verdict(),
            v1::QUALIFICATION_VERDICT_SEVERAL_FOUND);
  EXPECT_EQ(Parse(Record("")).verdict(), v1::QUALIFICATION_VERDICT_VALID);
  EXPECT_EQ(Parse(Record(""), "2027-05-10").verdict(), v1::QUALIFICATION_VERDICT_INVALID);
  std::string superseded = Record("");
  superseded.replace(superseded.find("\"superseded\":false"), 18, "\"superseded\":true");
  EXPECT_EQ(Parse(superseded).verdict(), v1::QUALIFICATION_VERDICT_NEWER_EXISTS);
}

TEST(QualificationResultTest, EquipmentUseOfAnotherFiscalYearDoesNotCount) {
  auto r = Parse(Record(""), "2027-04-01");  // FY2027 starts
  EXPECT_EQ(r.equipment_purchase_used().amount(), 0);
  EXPECT_EQ(r.equipment_purchase_remaining().amount(), 100000);
  r = Parse(Record(""), "2027-03-31");  // still FY2026
  EXPECT_EQ(r.equipment_purchase_used().amount(), 95000);
}

TEST(QualificationResultTest, BusinessErrors) {
  auto r = ParseInsuredCertificate(
      R"({"error":{"code":"MUNICIPALITY_NOT_LIVE","message":"市原市 goes live on the platform on 2028-04-01","live_from":"2028-04-01"}})",
      "2026-11-24");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("goes live on 2028-04-01"), std::string_view::npos);
  r = ParseInsuredCertificate(R"({"error":{"code":"MUNICIPALITY_NOT_LIVE","live_from":null}})",
                              "2026-11-24");
  EXPECT_NE(r.status().message().find("has not scheduled"), std::string_view::npos);
  r = ParseInsuredCertificate(R"({"error":{"code":"INSURER_UNKNOWN","message":"x"}})",
                              "2026-11-24");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST(QualificationResultTest, MalformedAnswersAreUnavailableNotCrashes) {
  for (const char* body :
       {"", "[]", "{", R"({"records":5})", R"({"records":[7]})",
        R"({"records":[{"care_level_code":21}]})", R"({"error":"boom"})", R"({"error":{"code":7}})",
        R"({"records":[{"care_level_code":"21","valid_to":"2027-13-01"}]})"}) {
    auto r = ParseInsuredCertificate(body, "2026-11-24");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << body;
  }
}

}  // namespace
}  // namespace kaigo::plugins::qualification

#include "kaigo/identifiers.h"

#include <gtest/gtest.h>

namespace kaigo {
namespace {

TEST(IdentifiersTest, InsurerNumbersFromTheReferenceValidate) {
  for (const char* n : {"122192", "122069", "121012", "131011", "435073"}) {
    EXPECT_TRUE(ValidateInsurerNumber(n).ok()) << n << ": " << ValidateInsurerNumber(n);
  }
}

TEST(IdentifiersTest, InsurerNumberErrorsNameTheRule) {
  auto s = ValidateInsurerNumber("122193");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("expected 2"), std::string_view::npos) << s;
  EXPECT_NE(ValidateInsurerNumber("12219").message().find("6 half-width digits"),
            std::string_view::npos);
  EXPECT_FALSE(ValidateInsurerNumber("12219a").ok());
}

TEST(IdentifiersTest, OfficeNumbers) {
  EXPECT_TRUE(ValidateOfficeNumber("04A0700017").ok());
  EXPECT_TRUE(ValidateOfficeNumber("1371000017").ok());
  auto s = ValidateOfficeNumber("1371000018");
  EXPECT_NE(s.message().find("check digit is 8, expected 7"), std::string_view::npos) << s;
  EXPECT_FALSE(ValidateOfficeNumber("137100001").ok());
  EXPECT_FALSE(ValidateOfficeNumber("48710000017").ok());
  EXPECT_NE(ValidateOfficeNumber("4871000017").message().find("prefecture"),
            std::string_view::npos);
  EXPECT_NE(ValidateOfficeNumber("04I0700017").message().find("事業所区分"),
            std::string_view::npos);
  // Medical-side numbers (みなし指定) carry another check digit and pass on form.
  EXPECT_TRUE(ValidateOfficeNumber("1310110049").ok());
  EXPECT_EQ(OfficeNumberCheckDigit("04A070001"), '7');
}

TEST(IdentifiersTest, InsuredNumbers) {
  EXPECT_TRUE(ValidateInsuredNumber("0000123456").ok());
  EXPECT_TRUE(ValidateInsuredNumber("H123456789").ok());
  EXPECT_FALSE(ValidateInsuredNumber("H12345678").ok());
  EXPECT_FALSE(ValidateInsuredNumber("h123456789").ok());
  EXPECT_FALSE(ValidateInsuredNumber("00001234567").ok());
  EXPECT_FALSE(ValidateInsuredNumber("00001234x6").ok());
}

TEST(IdentifiersTest, EclaimUserIds) {
  EXPECT_TRUE(ValidateEclaimUserId("KJ1234567890").ok());
  EXPECT_FALSE(ValidateEclaimUserId("KJ").ok());
  EXPECT_FALSE(ValidateEclaimUserId("kj123").ok());
  EXPECT_FALSE(ValidateEclaimUserId("KJ12-34").ok());
}

}  // namespace
}  // namespace kaigo

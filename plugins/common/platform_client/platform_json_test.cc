#include "platform_json.h"

#include <gtest/gtest.h>

namespace kaigo::platform {
namespace {

TEST(PlatformJsonTest, TokensOfTheRightTypesAreRead) {
  auto tokens = ParseTokens(R"({"access_token":"a1","refresh_token":"r1","expires_in":3600})");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->access, "a1");
  EXPECT_EQ(tokens->refresh, "r1");
}

// A platform answering numbers where strings belong once aborted the engine (nlohmann's value()
// throws type_error); now it costs the call, as UNAVAILABLE naming what is wrong.
TEST(PlatformJsonTest, WrongTypesAreAnErrorNotAnException) {
  for (const char* body :
       {R"({"access_token": 1, "refresh_token": 2})",
        R"({"access_token": "a", "refresh_token": 2})", R"({"access_token": ""})",
        R"({"access_token": null})", "[1]", "not json", ""}) {
    auto tokens = ParseTokens(body);
    EXPECT_EQ(tokens.status().code(), absl::StatusCode::kUnavailable) << body;
    EXPECT_NE(tokens.status().message().find("login or refresh"), std::string::npos) << body;
  }
  EXPECT_EQ(ParseTokens(R"({"access_token": 1})").status().message(),
            "the platform's answer is not understood: login or refresh: access_token must be a "
            "non-empty string");
}

TEST(PlatformJsonTest, ErrorMessagesOfAnyShape) {
  EXPECT_EQ(ErrorMessageOf(R"({"error":{"message":"locked"}})"), "locked");
  EXPECT_EQ(ErrorMessageOf(R"({"error":{"message":7}})"), "");
  EXPECT_EQ(ErrorMessageOf(R"({"error":"flat"})"), "");
  EXPECT_EQ(ErrorMessageOf("<html>"), "");
}

}  // namespace
}  // namespace kaigo::platform

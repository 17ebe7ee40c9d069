#include "platform_json.h"

#include <gtest/gtest.h>

#include "kaigo/sdk/error_details.h"
#include "platform_client.h"

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

using sdk::FindDetail;

// A business error's code and members reach a program as an ErrorInfo of the platform's domain,
// beside the status the plugin chose; a refused field as a BadRequest.
TEST(PlatformJsonTest, ABusinessErrorCarriesThePlatformsCodeAndMembers) {
  auto answer = ParseAnswer(
      R"({"error":{"code":"INVALID_FIELD","message":"too long","field":"care_manager_name",)"
      R"("tries_left":2}})",
      "platform", [](const nlohmann::json&) { return absl::InvalidArgumentError("refused"); });
  ASSERT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(FindDetail(answer.status(), &info));
  EXPECT_EQ(info.reason(), "INVALID_FIELD");
  EXPECT_EQ(info.domain(), "platform.kaigo-kiban");
  EXPECT_EQ(info.metadata().at("field"), "care_manager_name");
  EXPECT_EQ(info.metadata().at("tries_left"), "2");
  EXPECT_EQ(info.metadata().count("message"), 0u);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(FindDetail(answer.status(), &bad));
  EXPECT_EQ(bad.field_violations(0).field(), "care_manager_name");
  EXPECT_EQ(bad.field_violations(0).reason(), "INVALID_FIELD");

  // A plugin that names the request's field itself keeps its own BadRequest, and only it.
  auto named = ParseAnswer(
      R"({"error":{"code":"OTP_INVALID","message":"no","field":"otp"}})", "portal",
      [](const nlohmann::json&) { return sdk::InvalidField("code", "OTP_INVALID", "refused"); });
  ASSERT_TRUE(FindDetail(named.status(), &info));
  EXPECT_EQ(info.domain(), "portal.kaigo-kiban");
  EXPECT_EQ(sdk::StatusDetails(named.status()).details_size(), 2);
  ASSERT_TRUE(FindDetail(named.status(), &bad));
  EXPECT_EQ(bad.field_violations(0).field(), "code");
}

Response Answer(long http_status, const std::string& body,
                absl::Duration retry_after = absl::ZeroDuration()) {
  Response r;
  r.http_status = http_status;
  r.body = body;
  r.retry_after = retry_after;
  return r;
}

TEST(PlatformHttpTest, A400IsTheCallersInputOnlyWhenThePlatformNamesTheField) {
  absl::Status input = FromHttp(
      Answer(400, R"({"error":{"code":"INVALID_FIELD","field":"to_office","message":"unknown"}})"),
      "/api/v1/careplan/sends");
  EXPECT_EQ(input.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(input.message(), "platform /api/v1/careplan/sends: unknown");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(FindDetail(input, &bad));
  EXPECT_EQ(bad.field_violations(0).field(), "to_office");
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(FindDetail(input, &info));
  EXPECT_EQ(info.reason(), "INVALID_FIELD");
  EXPECT_EQ(info.metadata().at("http_status"), "400");

  absl::Status ours = FromHttp(
      Answer(400, R"({"error":{"code":"BAD_REQUEST","message":"body: not a JSON object"}})"),
      "/api/v1/login");
  EXPECT_EQ(ours.code(), absl::StatusCode::kInternal);
  ASSERT_TRUE(FindDetail(ours, &info));
  EXPECT_EQ(info.reason(), "BAD_REQUEST");
  EXPECT_FALSE(FindDetail(ours, &bad));
}

TEST(PlatformHttpTest, EachStatusHasItsCodeAndReason) {
  const std::pair<long, absl::StatusCode> cases[] = {
      {401, absl::StatusCode::kUnauthenticated},    {403, absl::StatusCode::kPermissionDenied},
      {404, absl::StatusCode::kNotFound},           {409, absl::StatusCode::kUnavailable},
      {422, absl::StatusCode::kFailedPrecondition}, {429, absl::StatusCode::kUnavailable},
      {500, absl::StatusCode::kUnavailable},        {503, absl::StatusCode::kUnavailable}};
  for (const auto& [http, code] : cases) {
    absl::Status s = FromHttp(Answer(http, "<html>"), "/x");
    EXPECT_EQ(s.code(), code) << http;
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(FindDetail(s, &info)) << http;
    EXPECT_EQ(info.reason(), "HTTP_" + std::to_string(http));
    EXPECT_EQ(info.domain(), "platform.kaigo-kiban");
  }
  EXPECT_TRUE(FromHttp(Answer(204, ""), "/x").ok());
}

TEST(PlatformHttpTest, RetryAfterBecomesTheRetryDelay) {
  for (long http : {429L, 503L}) {
    absl::Status s =
        FromHttp(Answer(http, R"({"error":{"code":"RATE_LIMITED","message":"slow down"}})",
                        absl::Seconds(30)),
                 "/x");
    google::rpc::RetryInfo retry;
    ASSERT_TRUE(FindDetail(s, &retry)) << http;
    EXPECT_EQ(retry.retry_delay().seconds(), 30);
  }
  google::rpc::RetryInfo none;
  EXPECT_FALSE(FindDetail(FromHttp(Answer(503, ""), "/x"), &none));
}

}  // namespace
}  // namespace kaigo::platform

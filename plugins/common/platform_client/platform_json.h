// Reading the platform's JSON answers (outside input) without exceptions: typed getters that
// treat a missing or wrongly typed member as absent, ISO dates, and the 要介護状態区分 codes.
// Pure; thread-safe.
#ifndef KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_JSON_H_
#define KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_JSON_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "kaigo/v1/common.pb.h"
#include "nlohmann/json.hpp"

namespace kaigo::platform {

// nlohmann's value() throws on a member of the wrong type; these never do.
std::string JsonString(const nlohmann::json& object, const char* key);
int64_t JsonInt(const nlohmann::json& object, const char* key);
bool JsonBool(const nlohmann::json& object, const char* key);

// The answer as a JSON object; UNAVAILABLE "the <who>'s answer is not understood: …" when it is
// not one; for {"error": {…}} (a business error, HTTP 200) the status `business_error` gives.
absl::StatusOr<nlohmann::json> ParseAnswer(
    const std::string& body, const std::string& who,
    const std::function<absl::Status(const nlohmann::json& error)>& business_error);
absl::Status NotUnderstood(const std::string& who, const std::string& what);

// The tokens of a login or refresh answer ({"access_token": "…", "refresh_token": "…"}).
struct Tokens {
  std::string access;
  std::string refresh;
};
// UNAVAILABLE "the platform's answer is not understood: login or refresh: …" unless the answer is
// an object with a non-empty string access_token (refresh_token, when present, a string).
absl::StatusOr<Tokens> ParseTokens(const std::string& body);
// The platform's error text from {"error": {"message": …}}, or "" when there is none.
std::string ErrorMessageOf(const std::string& body);

// "YYYY-MM-DD" into `out`; false for anything else.
bool ParseIsoDate(const std::string& text, kaigo::v1::Date* out);

// 要介護状態区分 code ("01", "06", "12", "13", "21"–"25"); CARE_LEVEL_UNSPECIFIED if unknown.
kaigo::v1::CareLevel CareLevelFromCode(const std::string& code);

}  // namespace kaigo::platform

#endif  // KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_JSON_H_

// Reading the platform's JSON answers (outside input) without exceptions: typed getters that
// treat a missing or wrongly typed member as absent, ISO dates, and the 要介護状態区分 codes.
// Pure; thread-safe.
#ifndef KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_JSON_H_
#define KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_JSON_H_

#include <cstdint>
#include <functional>
#include <map>
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
// not one; for {"error": {…}} (a business error, HTTP 200) the status `business_error` gives,
// WithPlatformError.
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
// The error object of {"error": {…}}, or an empty object when there is none.
nlohmann::json ErrorObjectOf(const std::string& body);

// ErrorInfo.domain of the error codes of the platform's web API ("platform.kaigo-kiban") or the
// portal's ("portal.kaigo-kiban"), `who` being "platform" or "portal".
std::string ErrorDomain(const std::string& who);
// `status` with what a program needs of the <who>'s error object {"code", "message", "field", …}:
// an ErrorInfo (reason: its code, else `fallback_reason`; metadata: its other scalar members,
// e.g. field, live_from, and `metadata`) and, when `status` is INVALID_ARGUMENT without a
// BadRequest, one naming the field the platform names (its name, not a path in our request).
absl::Status WithPlatformError(absl::Status status, const nlohmann::json& error,
                               const std::string& who, const std::string& fallback_reason = "",
                               const std::map<std::string, std::string>& metadata = {});

// "YYYY-MM-DD" into `out`; false for anything else.
bool ParseIsoDate(const std::string& text, kaigo::v1::Date* out);

// 要介護状態区分 code ("01", "06", "12", "13", "21"–"25"); CARE_LEVEL_UNSPECIFIED if unknown.
kaigo::v1::CareLevel CareLevelFromCode(const std::string& code);

}  // namespace kaigo::platform

#endif  // KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_JSON_H_

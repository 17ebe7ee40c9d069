#include "platform_json.h"

#include <map>

#include "absl/strings/numbers.h"
#include "kaigo/sdk/error_details.h"

namespace kaigo::platform {

using nlohmann::json;

std::string JsonString(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t JsonInt(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

absl::Status NotUnderstood(const std::string& who, const std::string& what) {
  return absl::UnavailableError("the " + who + "'s answer is not understood: " + what);
}

absl::StatusOr<json> ParseAnswer(
    const std::string& body, const std::string& who,
    const std::function<absl::Status(const json& error)>& business_error) {
  json answer = json::parse(body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) return NotUnderstood(who, "not a JSON object");
  auto error = answer.find("error");
  if (error == answer.end()) return answer;
  if (!error->is_object()) return NotUnderstood(who, "error is not an object");
  absl::Status status = business_error(*error);
  // An OK status would abort StatusOr's constructor: an error answer is never a success.
  if (status.ok()) return NotUnderstood(who, "an error answer the plugin did not map");
  return WithPlatformError(std::move(status), *error, who);
}

bool JsonBool(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

bool ParseIsoDate(const std::string& s, kaigo::v1::Date* out) {
  int y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !absl::SimpleAtoi(s.substr(0, 4), &y) ||
      !absl::SimpleAtoi(s.substr(5, 2), &m) || !absl::SimpleAtoi(s.substr(8, 2), &d) || m < 1 ||
      m > 12 || d < 1 || d > 31) {
    return false;
  }
  out->set_year(y);
  out->set_month(m);
  out->set_day(d);
  return true;
}

kaigo::v1::CareLevel CareLevelFromCode(const std::string& code) {
  namespace v1 = kaigo::v1;
  static const std::map<std::string, v1::CareLevel> kCodes = {
      {"01", v1::CARE_LEVEL_NOT_APPLICABLE}, {"06", v1::CARE_LEVEL_PROJECT_SUBJECT},
      {"12", v1::CARE_LEVEL_SUPPORT_1},      {"13", v1::CARE_LEVEL_SUPPORT_2},
      {"21", v1::CARE_LEVEL_CARE_1},         {"22", v1::CARE_LEVEL_CARE_2},
      {"23", v1::CARE_LEVEL_CARE_3},         {"24", v1::CARE_LEVEL_CARE_4},
      {"25", v1::CARE_LEVEL_CARE_5}};
  auto it = kCodes.find(code);
  return it == kCodes.end() ? v1::CARE_LEVEL_UNSPECIFIED : it->second;
}

absl::StatusOr<Tokens> ParseTokens(const std::string& body) {
  nlohmann::json answer = nlohmann::json::parse(body, nullptr, false);
  if (!answer.is_object()) return NotUnderstood("platform", "login or refresh: not a JSON object");
  auto access = answer.find("access_token");
  if (access == answer.end() || !access->is_string() || access->get<std::string>().empty()) {
    return NotUnderstood("platform", "login or refresh: access_token must be a non-empty string");
  }
  auto refresh = answer.find("refresh_token");
  if (refresh != answer.end() && !refresh->is_string() && !refresh->is_null()) {
    return NotUnderstood("platform", "login or refresh: refresh_token must be a string");
  }
  return Tokens{access->get<std::string>(), JsonString(answer, "refresh_token")};
}

json ErrorObjectOf(const std::string& body) {
  json answer = json::parse(body, nullptr, false);
  if (!answer.is_object()) return json::object();
  auto error = answer.find("error");
  return error != answer.end() && error->is_object() ? *error : json::object();
}

std::string ErrorMessageOf(const std::string& body) {
  return JsonString(ErrorObjectOf(body), "message");
}

std::string ErrorDomain(const std::string& who) { return who + ".kaigo-kiban"; }

absl::Status WithPlatformError(absl::Status status, const json& error, const std::string& who,
                               const std::string& fallback_reason,
                               const std::map<std::string, std::string>& metadata) {
  std::string reason = JsonString(error, "code");
  if (reason.empty()) reason = fallback_reason;
  std::map<std::string, std::string> info = metadata;
  for (const auto& [name, value] : error.items()) {
    if (name == "code" || name == "message") continue;
    if (value.is_string()) info[name] = value.get<std::string>();
    if (value.is_number() || value.is_boolean()) info[name] = value.dump();
  }
  if (!reason.empty()) {
    status = sdk::WithErrorInfo(std::move(status), reason, info, ErrorDomain(who));
  }
  google::rpc::BadRequest named;
  const std::string field = JsonString(error, "field");
  if (status.code() != absl::StatusCode::kInvalidArgument || field.empty() ||
      sdk::FindDetail(status, &named)) {
    return status;
  }
  auto* violation = named.add_field_violations();
  violation->set_field(field);
  violation->set_reason(reason);
  violation->set_description(JsonString(error, "message"));
  return sdk::WithDetail(std::move(status), named);
}

}  // namespace kaigo::platform

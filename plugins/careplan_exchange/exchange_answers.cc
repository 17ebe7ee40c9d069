#include "exchange_answers.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/response.h"
#include "nlohmann/json.hpp"
#include "platform_json.h"

namespace kaigo::plugins::careplan {

namespace v1 = kaigo::v1;
using nlohmann::json;
using platform::JsonInt;
using platform::JsonString;

namespace {

absl::Status Unexpected(const std::string& what) {
  return platform::NotUnderstood("platform", what);
}

absl::Status FromCode(const json& error) {
  std::string code = JsonString(error, "code");
  std::string message = absl::StrCat("platform: ", JsonString(error, "message"), " (", code, ")");
  std::string field = JsonString(error, "field");
  if (!field.empty()) message = field + ": " + message;
  if (code == "FILE_NAME" || code == "NAME_MISMATCH" || code == "UNIT_MISMATCH") {
    return sdk::InvalidField("files", code, message);
  }
  if (code == "SAME_OFFICE") return sdk::InvalidField("destinations", code, message);
  if (code == "INVALID_FIELD") return absl::InvalidArgumentError(message);
  if (code == "OFFICE_UNKNOWN" || code == "NOT_FOUND") return absl::NotFoundError(message);
  if (code == "IDENTITY_MISMATCH" || code == "NOT_CARE_MANAGER" ||
      absl::StartsWith(code, "CARD_")) {
    return absl::PermissionDeniedError(message);
  }
  // UNIT_ORDER: another send to the same office took a higher 連番 first; a new one may pass.
  if (code == "CHALLENGE_INVALID" || code == "UNIT_ORDER") return absl::AbortedError(message);
  return absl::FailedPreconditionError(message);
}

// The answer as an object, or the status its business error stands for.
absl::StatusOr<json> Answer(const std::string& body) {
  return platform::ParseAnswer(body, "platform", FromCode);
}

void ReadFiles(const json& unit, google::protobuf::RepeatedPtrField<v1::FileEvidence>* out) {
  auto files = unit.find("files");
  if (files == unit.end() || !files->is_array()) return;
  for (const json& f : *files) {
    if (!f.is_object()) continue;
    v1::FileEvidence* e = out->Add();
    e->set_name(JsonString(f, "name"));
    e->set_sha256(JsonString(f, "sha256"));
    e->set_size(JsonInt(f, "size"));
  }
}

// The list under `key`, or the status of the answer.
absl::StatusOr<json> List(const std::string& body, const char* key) {
  auto answer = Answer(body);
  if (!answer.ok()) return answer.status();
  auto list = answer->find(key);
  if (list == answer->end() || !list->is_array()) return Unexpected(absl::StrCat("no ", key));
  return *list;
}

}  // namespace

absl::Status BusinessError(const std::string& body) {
  if (body.empty() || body[0] != '{') return absl::OkStatus();
  json answer = json::parse(body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) return absl::OkStatus();
  auto error = answer.find("error");
  if (error == answer.end() || !error->is_object()) return absl::OkStatus();
  return FromCode(*error);
}

absl::StatusOr<v1::SendResult> ParseSent(const std::string& body) {
  auto answer = Answer(body);
  if (!answer.ok()) return answer.status();
  v1::SendResult result;
  result.set_send_id(JsonString(*answer, "send_id"));
  if (result.send_id().empty()) return Unexpected("no send_id");
  result.set_unit(JsonString(*answer, "unit"));
  sdk::SetUnixSeconds(&result, &v1::SendResult::mutable_send_time, JsonInt(*answer, "sent_at"));
  ReadFiles(*answer, result.mutable_files());
  return result;
}

absl::StatusOr<std::vector<v1::SentUnit>> ParseSentList(const std::string& body) {
  auto list = List(body, "sends");
  if (!list.ok()) return list.status();
  std::vector<v1::SentUnit> out;
  for (const json& s : *list) {
    if (!s.is_object()) continue;
    v1::SentUnit& unit = out.emplace_back();
    unit.set_send_id(JsonString(s, "send_id"));
    unit.mutable_destination()->set_office_number(JsonString(s, "to_office"));
    unit.mutable_destination()->set_service_type(JsonString(s, "to_service_type"));
    unit.set_unit(JsonString(s, "unit"));
    sdk::SetUnixSeconds(&unit, &v1::SentUnit::mutable_send_time, JsonInt(s, "sent_at"));
    sdk::SetUnixSeconds(&unit, &v1::SentUnit::mutable_acknowledge_time,
                        JsonInt(s, "acknowledged_at"));
    ReadFiles(s, unit.mutable_files());
  }
  return out;
}

absl::StatusOr<std::vector<v1::ReceivedUnit>> ParseReceivedList(const std::string& body) {
  auto list = List(body, "received");
  if (!list.ok()) return list.status();
  std::vector<v1::ReceivedUnit> out;
  for (const json& r : *list) {
    if (!r.is_object()) continue;
    v1::ReceivedUnit& unit = out.emplace_back();
    unit.set_send_id(JsonString(r, "send_id"));
    unit.set_from_office(JsonString(r, "from_office"));
    unit.set_from_service_type(JsonString(r, "from_service_type"));
    unit.set_unit(JsonString(r, "unit"));
    sdk::SetUnixSeconds(&unit, &v1::ReceivedUnit::mutable_send_time, JsonInt(r, "sent_at"));
    sdk::SetUnixSeconds(&unit, &v1::ReceivedUnit::mutable_acknowledge_time,
                        JsonInt(r, "acknowledged_at"));
    ReadFiles(r, unit.mutable_files());
  }
  return out;
}

absl::StatusOr<int64_t> ParseAcknowledged(const std::string& body) {
  auto answer = Answer(body);
  if (!answer.ok()) return answer.status();
  int64_t at = JsonInt(*answer, "acknowledged_at");
  if (at <= 0) return Unexpected("no acknowledged_at");
  return at;
}

absl::StatusOr<v1::SubmitCarePlanRequestNotificationResponse> ParseReceipt(
    const std::string& body) {
  auto answer = Answer(body);
  if (!answer.ok()) return answer.status();
  v1::SubmitCarePlanRequestNotificationResponse receipt;
  receipt.set_notification_id(JsonString(*answer, "notification_id"));
  if (receipt.notification_id().empty()) return Unexpected("no notification_id");
  if (!platform::ParseIsoDate(JsonString(*answer, "accepted_on"), receipt.mutable_accept_date())) {
    return Unexpected("accepted_on is not a date");
  }
  const std::string method = JsonString(*answer, "identity_method");
  if (method == "card") {
    receipt.set_identity_method(v1::IDENTITY_METHOD_CARD);
  } else if (method == "numbers") {
    receipt.set_identity_method(v1::IDENTITY_METHOD_NUMBERS);
  } else {
    return Unexpected("identity_method is neither card nor numbers");
  }
  return receipt;
}

}  // namespace kaigo::plugins::careplan

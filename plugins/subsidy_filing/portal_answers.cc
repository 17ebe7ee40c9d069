#include "portal_answers.h"

#include "absl/strings/str_cat.h"
#include "kaigo/sdk/error_details.h"
#include "nlohmann/json.hpp"
#include "platform_json.h"
#include "subsidy_rules.h"

namespace kaigo::plugins::subsidy {

namespace v1 = kaigo::v1;
using nlohmann::json;
using platform::JsonInt;
using platform::JsonString;
using platform::ParseIsoDate;

namespace {

absl::Status Unexpected(const std::string& what) { return platform::NotUnderstood("portal", what); }

absl::Status FromCode(const json& error) {
  std::string code = JsonString(error, "code");
  std::string message = absl::StrCat("portal: ", JsonString(error, "message"), " (", code, ")");
  if (code == "ALREADY_APPLIED") return absl::AlreadyExistsError(message);
  if (code == "RESUBMISSION_TOO_EARLY") {
    return absl::FailedPreconditionError(
        absl::StrCat(message, "; resubmission from ", JsonString(error, "resubmit_from")));
  }
  if (code == "NOT_FOUND") return absl::NotFoundError(message);
  if (code == "INVALID_FIELD" || code == "MISSING_ATTACHMENT" || code == "ATTACHMENT_NOT_FOUND" ||
      code.rfind("ATTACHMENT_", 0) == 0) {
    std::string field = JsonString(error, "field");
    // The portal's field, when it names one, goes into the details (ParseAnswer); else the part
    // of the application it is about.
    if (field.empty()) {
      return sdk::InvalidField(code == "INVALID_FIELD" ? "form" : "attachments", code, message);
    }
    return absl::InvalidArgumentError(field + ": " + message);
  }
  return absl::FailedPreconditionError(message);
}

// The answer as an object, or the status its business error stands for.
absl::StatusOr<json> Answer(const std::string& body) {
  return platform::ParseAnswer(body, "portal", FromCode);
}

}  // namespace

v1::ApplicationStatus StatusFromWord(const std::string& word) {
  if (word == "submitted") return v1::APPLICATION_STATUS_SUBMITTED;
  if (word == "under_review") return v1::APPLICATION_STATUS_UNDER_REVIEW;
  if (word == "approved") return v1::APPLICATION_STATUS_APPROVED;
  if (word == "paid") return v1::APPLICATION_STATUS_PAID;
  if (word == "returned") return v1::APPLICATION_STATUS_RETURNED;
  return v1::APPLICATION_STATUS_UNSPECIFIED;
}

absl::StatusOr<std::string> ParseUploaded(const std::string& body) {
  auto answer = Answer(body);
  if (!answer.ok()) return answer.status();
  std::string id = JsonString(*answer, "attachment_id");
  if (id.empty()) return Unexpected("no attachment_id");
  return id;
}

absl::StatusOr<Filed> ParseFiled(const std::string& body) {
  auto answer = Answer(body);
  if (!answer.ok()) return answer.status();
  Filed filed;
  filed.portal_id = JsonString(*answer, "application_id");
  filed.status = StatusFromWord(JsonString(*answer, "status"));
  if (filed.portal_id.empty()) return Unexpected("no application_id");
  if (!ParseIsoDate(JsonString(*answer, "submitted_on"), &filed.submitted_on)) {
    return Unexpected("submitted_on is not a date");
  }
  return filed;
}

absl::StatusOr<std::vector<PriorApplication>> ParseApplications(const std::string& body) {
  auto answer = Answer(body);
  if (!answer.ok()) return answer.status();
  auto list = answer->find("applications");
  if (list == answer->end() || !list->is_array()) return Unexpected("no applications list");
  std::vector<PriorApplication> out;
  for (const json& item : *list) {
    v1::Date day;
    if (!item.is_object() || !ParseIsoDate(JsonString(item, "submitted_on"), &day)) {
      return Unexpected("an application without a submitted_on date");
    }
    out.push_back({JsonString(item, "application_id"), ToCivilDay(day),
                   StatusFromWord(JsonString(item, "status"))});
  }
  return out;
}

absl::StatusOr<v1::SubsidyStatus> ParseStatus(const std::string& body) {
  auto answer = Answer(body);
  if (!answer.ok()) return answer.status();
  v1::SubsidyStatus status;
  status.set_portal_application_id(JsonString(*answer, "application_id"));
  status.set_status(StatusFromWord(JsonString(*answer, "status")));
  if (status.status() == v1::APPLICATION_STATUS_UNSPECIFIED) {
    return Unexpected("status '" + JsonString(*answer, "status") + "'");
  }
  status.mutable_granted()->set_amount(JsonInt(*answer, "granted"));
  ParseIsoDate(JsonString(*answer, "paid_on"), status.mutable_payment_date());
  ParseIsoDate(JsonString(*answer, "resubmit_from"), status.mutable_resubmit_from_date());
  if (auto reasons = answer->find("reasons"); reasons != answer->end() && reasons->is_array()) {
    for (const json& r : *reasons) {
      if (r.is_string()) status.add_return_reasons(r.get<std::string>());
    }
  }
  if (auto history = answer->find("history"); history != answer->end() && history->is_array()) {
    for (const json& e : *history) {
      if (!e.is_object()) continue;
      auto* event = status.add_history();
      event->set_status(StatusFromWord(JsonString(e, "status")));
      ParseIsoDate(JsonString(e, "on"), event->mutable_date());
      event->set_note(JsonString(e, "note"));
    }
  }
  return status;
}

}  // namespace kaigo::plugins::subsidy

#include "certification_answers.h"

#include <map>

#include "nlohmann/json.hpp"
#include "platform_client.h"
#include "platform_json.h"

namespace kaigo::plugins::certification {

using nlohmann::json;
namespace v1 = kaigo::v1;

namespace {

absl::Status Unexpected(const std::string& what) {
  return platform::NotUnderstood("platform", what);
}

using platform::JsonString;

// The status a business error stands for.
absl::Status FromCode(const json& error) {
  std::string code = JsonString(error, "code"), message = JsonString(error, "message");
  if (code == "NOT_PERMITTED") return absl::PermissionDeniedError(message);
  if (code == "NOT_FOUND") return absl::NotFoundError(message);
  if (code == "MUNICIPALITY_NOT_LIVE") {
    return platform::MunicipalityNotLive("recipient.insurer.value", message,
                                         JsonString(error, "live_from"));
  }
  if (code == "INSURER_UNKNOWN") return absl::NotFoundError("recipient.insurer.value: " + message);
  return Unexpected("error " + code);
}

// The answer as an object, or the status its business error stands for.
absl::StatusOr<json> Answer(std::string_view body) {
  return platform::ParseAnswer(std::string(body), "platform", FromCode);
}

}  // namespace

absl::StatusOr<v1::CertificationProgress> ParseProgress(std::string_view body) {
  auto answer = Answer(body);
  if (!answer.ok()) return answer.status();
  static const std::map<std::string, v1::CertificationStatus> kStatuses = {
      {"applied", v1::CERTIFICATION_STATUS_APPLIED},
      {"surveyed", v1::CERTIFICATION_STATUS_SURVEYED},
      {"opinion_received", v1::CERTIFICATION_STATUS_OPINION_RECEIVED},
      {"under_review", v1::CERTIFICATION_STATUS_UNDER_REVIEW},
      {"certified", v1::CERTIFICATION_STATUS_CERTIFIED}};
  auto status = kStatuses.find(JsonString(*answer, "status"));
  if (status == kStatuses.end()) return Unexpected("status");
  v1::CertificationProgress progress;
  progress.set_status(status->second);
  if (!platform::ParseIsoDate(JsonString(*answer, "applied_on"),
                              progress.mutable_application_date()) ||
      !platform::ParseIsoDate(JsonString(*answer, "updated_on"), progress.mutable_update_date())) {
    return Unexpected("dates");
  }
  if (progress.status() == v1::CERTIFICATION_STATUS_CERTIFIED) {
    progress.set_result(platform::CareLevelFromCode(JsonString(*answer, "result_care_level_code")));
    if (progress.result() == v1::CARE_LEVEL_UNSPECIFIED)
      return Unexpected("result_care_level_code");
  }
  return progress;
}

absl::StatusOr<v1::ListDocumentsResponse> ParseDocuments(std::string_view body) {
  auto answer = Answer(body);
  if (!answer.ok()) return answer.status();
  auto documents = answer->find("documents");
  if (documents == answer->end() || !documents->is_array()) return Unexpected("documents");
  v1::ListDocumentsResponse out;
  for (const json& d : *documents) {
    if (!d.is_object()) return Unexpected("a document is not an object");
    auto* info = out.add_documents();
    info->set_document_id(JsonString(d, "document_id"));
    std::string kind = JsonString(d, "kind");
    info->set_kind(kind == "survey"              ? v1::DOCUMENT_KIND_SURVEY
                   : kind == "physician_opinion" ? v1::DOCUMENT_KIND_PHYSICIAN_OPINION
                                                 : v1::DOCUMENT_KIND_UNSPECIFIED);
    auto size = d.find("size_bytes");
    info->set_size_bytes(size != d.end() && size->is_number_integer() ? size->get<int64_t>() : 0);
    info->set_media_type(JsonString(d, "media_type"));
    if (info->document_id().empty()) return Unexpected("document_id");
  }
  return out;
}

}  // namespace kaigo::plugins::certification

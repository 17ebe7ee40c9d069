// Reading the portal's subsidy answers (outside input: never throws, never trusts a type) and
// mapping its business errors to statuses with the portal's own message:
// ALREADY_APPLIED → ALREADY_EXISTS, RESUBMISSION_TOO_EARLY → FAILED_PRECONDITION naming the date,
// ATTACHMENT_* / INVALID_FIELD / MISSING_ATTACHMENT → INVALID_ARGUMENT, NOT_FOUND → NOT_FOUND.
// Pure; thread-safe.
#ifndef KAIGO_PLUGINS_SUBSIDY_FILING_PORTAL_ANSWERS_H_
#define KAIGO_PLUGINS_SUBSIDY_FILING_PORTAL_ANSWERS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "application_check.h"
#include "kaigo/v1/subsidy.pb.h"

namespace kaigo::plugins::subsidy {

struct Filed {
  std::string portal_id;
  kaigo::v1::Date submitted_on;
  kaigo::v1::ApplicationStatus status = kaigo::v1::APPLICATION_STATUS_UNSPECIFIED;
};

// "submitted", "under_review", … → the enum; UNSPECIFIED if unknown.
kaigo::v1::ApplicationStatus StatusFromWord(const std::string& word);

absl::StatusOr<std::string> ParseUploaded(const std::string& body);  // the attachment id
absl::StatusOr<Filed> ParseFiled(const std::string& body);
absl::StatusOr<std::vector<PriorApplication>> ParseApplications(const std::string& body);
absl::StatusOr<kaigo::v1::SubsidyStatus> ParseStatus(const std::string& body);

}  // namespace kaigo::plugins::subsidy

#endif  // KAIGO_PLUGINS_SUBSIDY_FILING_PORTAL_ANSWERS_H_

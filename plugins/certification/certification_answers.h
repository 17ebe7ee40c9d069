// Turns the platform's certification answers (JSON, outside input) into kaigo.v1 messages. Pure;
// thread-safe. Business errors become statuses: NOT_PERMITTED → PERMISSION_DENIED (認定情報 is
// only for the recipient's care managers), NOT_FOUND → NOT_FOUND, MUNICIPALITY_NOT_LIVE →
// FAILED_PRECONDITION with the date; anything malformed → UNAVAILABLE.
#ifndef KAIGO_PLUGINS_CERTIFICATION_CERTIFICATION_ANSWERS_H_
#define KAIGO_PLUGINS_CERTIFICATION_CERTIFICATION_ANSWERS_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "kaigo/v1/certification.pb.h"

namespace kaigo::plugins::certification {

absl::StatusOr<kaigo::v1::CertificationProgress> ParseProgress(std::string_view body);
absl::StatusOr<kaigo::v1::ListDocumentsResponse> ParseDocuments(std::string_view body);

}  // namespace kaigo::plugins::certification

#endif  // KAIGO_PLUGINS_CERTIFICATION_CERTIFICATION_ANSWERS_H_

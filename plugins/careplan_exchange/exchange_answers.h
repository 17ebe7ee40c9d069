// Reading the platform's care-plan exchange and 計画作成依頼届出 answers (outside input: never
// throws, never trusts a type) and mapping business errors to statuses with the platform's own
// message: FILE_NAME, NAME_MISMATCH, UNIT_MISMATCH, SAME_OFFICE, INVALID_FIELD → INVALID_ARGUMENT;
// UNIT_ORDER, MUNICIPALITY_NOT_LIVE → FAILED_PRECONDITION; OFFICE_UNKNOWN, NOT_FOUND → NOT_FOUND;
// IDENTITY_MISMATCH, NOT_CARE_MANAGER, CARD_* → PERMISSION_DENIED; CHALLENGE_INVALID → ABORTED.
// Pure; thread-safe.
#ifndef KAIGO_PLUGINS_CAREPLAN_EXCHANGE_EXCHANGE_ANSWERS_H_
#define KAIGO_PLUGINS_CAREPLAN_EXCHANGE_EXCHANGE_ANSWERS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kaigo/v1/careplan_exchange.pb.h"

namespace kaigo::plugins::careplan {

absl::StatusOr<kaigo::v1::SendResult> ParseSent(const std::string& body);
absl::StatusOr<std::vector<kaigo::v1::SentUnit>> ParseSentList(const std::string& body);
absl::StatusOr<std::vector<kaigo::v1::ReceivedUnit>> ParseReceivedList(const std::string& body);
absl::StatusOr<int64_t> ParseAcknowledged(const std::string& body);
absl::StatusOr<kaigo::v1::SubmitCarePlanRequestNotificationResponse> ParseReceipt(
    const std::string& body);
// OK, or the status of a business error in a body that is not JSON otherwise (a file download).
absl::Status BusinessError(const std::string& body);

}  // namespace kaigo::plugins::careplan

#endif  // KAIGO_PLUGINS_CAREPLAN_EXCHANGE_EXCHANGE_ANSWERS_H_

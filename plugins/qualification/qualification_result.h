// Turns the platform's insured-certificate answer (JSON, outside input) into a
// QualificationResult with its verdict. Pure; thread-safe.
#ifndef KAIGO_PLUGINS_QUALIFICATION_QUALIFICATION_RESULT_H_
#define KAIGO_PLUGINS_QUALIFICATION_QUALIFICATION_RESULT_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "kaigo/v1/qualification.pb.h"

namespace kaigo::plugins::qualification {

constexpr int64_t kHomeModificationCapYen = 200000;  // 住宅改修費, per person
constexpr int64_t kEquipmentPurchaseCapYen = 100000;  // 福祉用具購入費, per fiscal year (Apr–Mar)

// `as_of` is the reference date "YYYY-MM-DD". Verdicts: no record → NOT_FOUND; several →
// SEVERAL_FOUND; a superseded record → NEWER_EXISTS; a validity period ended before as_of →
// INVALID; otherwise VALID. Business errors become statuses: MUNICIPALITY_NOT_LIVE →
// FAILED_PRECONDITION naming the go-live date; INSURER_UNKNOWN → NOT_FOUND. A body that is not the
// expected JSON is UNAVAILABLE ("the platform answered something unexpected").
absl::StatusOr<kaigo::v1::QualificationResult> ParseInsuredCertificate(std::string_view body,
                                                                       std::string_view as_of);

}  // namespace kaigo::plugins::qualification

#endif  // KAIGO_PLUGINS_QUALIFICATION_QUALIFICATION_RESULT_H_

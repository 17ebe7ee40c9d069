// The subsidy's rules as data (kaigo.v1.SubsidyRules, read from YAML), and what follows from them
// alone: which round is open on a day, an office's category, and the grant.
//
// grant = min(A' + B, cap) where A' is the reader cost A counted for at most the category's
// readers (readers are taken to cost the same; A' = floor(A × covered / bought)). An office
// whose service types fall into several categories gets the one with the highest cap.
//
// Pure; thread-safe.
#ifndef KAIGO_PLUGINS_SUBSIDY_FILING_SUBSIDY_RULES_H_
#define KAIGO_PLUGINS_SUBSIDY_FILING_SUBSIDY_RULES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "kaigo/v1/subsidy.pb.h"

namespace kaigo::plugins::subsidy {

// Reads and checks a rules file; INVALID_ARGUMENT listing every problem with file:line:column.
absl::StatusOr<kaigo::v1::SubsidyRules> LoadRules(const std::string& path);

// Checks the rules' own consistency and fills each category's service_types.
absl::Status CheckRules(kaigo::v1::SubsidyRules* rules);

// The round open on `day`, or null.
const kaigo::v1::SubsidyRound* OpenRound(const kaigo::v1::SubsidyRules& rules, absl::CivilDay day);
// Why no round is open on `day`: the last one closed, the next one opens, or none is announced.
std::string NoRoundReason(const kaigo::v1::SubsidyRules& rules, absl::CivilDay day);

// Errors name the request's fields (service_types[1].value, readers, …).
absl::StatusOr<kaigo::v1::EstimateResponse> Estimate(const kaigo::v1::SubsidyRules& rules,
                                                     const kaigo::v1::EstimateRequest& request);

// The grant a filled-in form asks for (service types, readers, A and B).
absl::StatusOr<kaigo::v1::EstimateResponse> EstimateForm(const kaigo::v1::SubsidyRules& rules,
                                                         const kaigo::v1::ApplicationForm& form);

// "¥64,000".
std::string FormatYen(int64_t amount);
std::string FormatDate(absl::CivilDay day);
absl::CivilDay ToCivilDay(const kaigo::v1::Date& date);
kaigo::v1::Date ToDate(absl::CivilDay day);
// True when `date` is a real calendar date.
bool IsCalendarDate(const kaigo::v1::Date& date);

}  // namespace kaigo::plugins::subsidy

#endif  // KAIGO_PLUGINS_SUBSIDY_FILING_SUBSIDY_RULES_H_

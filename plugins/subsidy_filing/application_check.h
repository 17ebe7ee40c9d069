// Every rule an application must meet before it is filed, each finding naming the field and the
// rule: the form (office, phone, service types, readers, support cost, bank account), the
// attachments (counts per kind, size, type by content), the receipts (amounts against A and B,
// goods that are not eligible, vague lines), the round open on the application date, and the
// office's earlier applications on the portal (one per office number; a returned one may be filed
// again from the first day of the month after the first application).
//
// Pure; thread-safe.
#ifndef KAIGO_PLUGINS_SUBSIDY_FILING_APPLICATION_CHECK_H_
#define KAIGO_PLUGINS_SUBSIDY_FILING_APPLICATION_CHECK_H_

#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "kaigo/v1/subsidy.pb.h"

namespace kaigo::plugins::subsidy {

// An application the portal already holds for this office.
struct PriorApplication {
  std::string portal_id;
  absl::CivilDay submitted_on;
  kaigo::v1::ApplicationStatus status = kaigo::v1::APPLICATION_STATUS_UNSPECIFIED;
};

// The first day a returned office may file again: the 1st of the month after its first
// application.
absl::CivilDay ResubmitFrom(const std::vector<PriorApplication>& prior);

// `prior` excludes the application itself (a retried submission of the same draft).
kaigo::v1::ApplicationReport CheckApplication(const kaigo::v1::SubsidyRules& rules,
                                              const kaigo::v1::SubsidyApplication& application,
                                              absl::CivilDay application_date,
                                              const std::vector<PriorApplication>& prior);

// The field rules of the bank account and phone alone (also used when a draft is saved, so an
// office sees mistakes at once). Appends to `errors`.
void CheckBankAccount(const kaigo::v1::BankAccount& bank, const std::string& field,
                      std::vector<kaigo::v1::ApplicationFinding>* errors);
void CheckPhone(const std::string& phone, const std::string& field,
                std::vector<kaigo::v1::ApplicationFinding>* errors);

}  // namespace kaigo::plugins::subsidy

#endif  // KAIGO_PLUGINS_SUBSIDY_FILING_APPLICATION_CHECK_H_

#include "qualification_result.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "nlohmann/json.hpp"
#include "platform_client.h"
#include "platform_json.h"

namespace kaigo::plugins::qualification {

using nlohmann::json;
namespace v1 = kaigo::v1;

namespace {

absl::Status Unexpected(const std::string& what) {
  return platform::NotUnderstood("platform", what);
}

bool ParseDate(const json& value, v1::Date* out) {
  return value.is_string() && platform::ParseIsoDate(value.get<std::string>(), out);
}

// Optional dates: absent or null leave the range unset.
absl::Status ParseRange(const json& object, const char* from, const char* to, v1::DateRange* out) {
  for (auto [key, date] :
       {std::make_pair(from, out->mutable_start()), std::make_pair(to, out->mutable_end())}) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) continue;
    if (!ParseDate(*it, date)) return Unexpected(std::string(key) + " is not a date");
  }
  return absl::OkStatus();
}

using platform::JsonBool;
using platform::JsonInt;
using platform::JsonString;

v1::CareLevel CareLevelOf(const json& record) {
  if (JsonString(record, "certification_status") == "applying") return v1::CARE_LEVEL_APPLYING;
  return platform::CareLevelFromCode(JsonString(record, "care_level_code"));
}

v1::CostLimitStage StageOf(const std::string& stage) {
  static const std::map<std::string, v1::CostLimitStage> kStages = {
      {"none", v1::COST_LIMIT_STAGE_NONE}, {"1", v1::COST_LIMIT_STAGE_1},
      {"2", v1::COST_LIMIT_STAGE_2},       {"3A", v1::COST_LIMIT_STAGE_3A},
      {"3B", v1::COST_LIMIT_STAGE_3B},     {"4", v1::COST_LIMIT_STAGE_4}};
  auto it = kStages.find(stage);
  return it == kStages.end() ? v1::COST_LIMIT_STAGE_UNSPECIFIED : it->second;
}

bool Before(const v1::Date& a, const v1::Date& b) {
  return std::make_tuple(a.year(), a.month(), a.day()) <
         std::make_tuple(b.year(), b.month(), b.day());
}

// The status a business error of the qualification lookups stands for.
absl::Status BusinessError(const json& e) {
  std::string code = JsonString(e, "code");
  std::string message = JsonString(e, "message");
  if (code == "MUNICIPALITY_NOT_LIVE") {
    return platform::MunicipalityNotLive("insurer.value", message, JsonString(e, "live_from"));
  }
  if (code == "INSURER_UNKNOWN") return absl::NotFoundError("insurer.value: " + message);
  if (code == "CARD_UNKNOWN") return absl::NotFoundError("card: " + message);
  if (code == "CARD_CERTIFICATE_INVALID" || code == "CARD_SIGNATURE_INVALID") {
    return absl::PermissionDeniedError("card: the platform refused the card: " + message);
  }
  if (code == "CHALLENGE_INVALID") return absl::AbortedError("card: " + message + "; try again");
  return Unexpected("error " + code);
}

// April–March: 2026-03-31 is in FY2025.
int FiscalYear(const v1::Date& d) { return d.month() >= 4 ? d.year() : d.year() - 1; }

}  // namespace

absl::StatusOr<v1::QualificationResult> ParseInsuredCertificate(std::string_view body,
                                                                std::string_view as_of) {
  auto parsed = platform::ParseAnswer(std::string(body), "platform", BusinessError);
  if (!parsed.ok()) return parsed.status();
  const json& answer = *parsed;
  v1::Date reference;
  if (!ParseDate(json(std::string(as_of)), &reference)) return Unexpected("as_of");
  auto found = answer.find("records");
  if (found == answer.end() || !found->is_array()) return Unexpected("records");
  const json& records = *found;
  v1::QualificationResult result;
  if (records.empty()) {
    result.set_verdict(v1::QUALIFICATION_VERDICT_NOT_FOUND);
    return result;
  }
  if (records.size() > 1) {
    result.set_verdict(v1::QUALIFICATION_VERDICT_SEVERAL_FOUND);
    return result;
  }
  const json& r = records[0];
  if (!r.is_object()) return Unexpected("a record is not an object");
  result.mutable_recipient()->mutable_insurer()->set_value(JsonString(r, "insurer_number"));
  result.mutable_recipient()->mutable_insured()->set_value(JsonString(r, "insured_number"));
  result.set_care_level(CareLevelOf(r));
  if (result.care_level() == v1::CARE_LEVEL_UNSPECIFIED) return Unexpected("care_level_code");
  if (absl::Status s = ParseRange(r, "valid_from", "valid_to", result.mutable_care_level_period());
      !s.ok()) {
    return s;
  }
  auto certified = r.find("certified_on");
  if (certified != r.end() && !certified->is_null() &&
      !ParseDate(*certified, result.mutable_certification_date())) {
    return Unexpected("certified_on");
  }
  result.set_monthly_limit_units(static_cast<int32_t>(JsonInt(r, "monthly_limit_units")));
  if (auto copay = r.find("copay"); copay != r.end() && copay->is_object()) {
    int64_t percent = JsonInt(*copay, "percent");
    if (percent != 10 && percent != 20 && percent != 30) return Unexpected("copay.percent");
    result.set_copay_percent(static_cast<int32_t>(percent));
    if (auto s = ParseRange(*copay, "valid_from", "valid_to", result.mutable_copay_period());
        !s.ok()) {
      return s;
    }
  }
  if (auto limit = r.find("cost_limit"); limit != r.end() && limit->is_object()) {
    result.set_cost_limit_stage(StageOf(JsonString(*limit, "stage")));
    if (result.cost_limit_stage() == v1::COST_LIMIT_STAGE_UNSPECIFIED) {
      return Unexpected("cost_limit.stage");
    }
    if (auto s = ParseRange(*limit, "valid_from", "valid_to", result.mutable_cost_limit_period());
        !s.ok()) {
      return s;
    }
  }
  int64_t home =
      std::clamp<int64_t>(JsonInt(r, "home_modification_used_yen"), 0, kHomeModificationCapYen);
  result.mutable_home_modification_used()->set_amount(home);
  result.mutable_home_modification_remaining()->set_amount(kHomeModificationCapYen - home);
  // Use recorded for another fiscal year does not count against this one's cap.
  int64_t equipment = JsonInt(r, "equipment_purchase_fiscal_year") == FiscalYear(reference)
                          ? std::clamp<int64_t>(JsonInt(r, "equipment_purchase_used_yen"), 0,
                                                kEquipmentPurchaseCapYen)
                          : 0;
  result.mutable_equipment_purchase_used()->set_amount(equipment);
  result.mutable_equipment_purchase_remaining()->set_amount(kEquipmentPurchaseCapYen - equipment);

  if (JsonBool(r, "superseded")) {
    result.set_verdict(v1::QUALIFICATION_VERDICT_NEWER_EXISTS);
  } else if (result.care_level_period().has_end() &&
             Before(result.care_level_period().end(), reference)) {
    result.set_verdict(v1::QUALIFICATION_VERDICT_INVALID);
  } else {
    result.set_verdict(v1::QUALIFICATION_VERDICT_VALID);
  }
  return result;
}

}  // namespace kaigo::plugins::qualification

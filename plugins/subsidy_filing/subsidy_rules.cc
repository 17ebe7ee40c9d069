#include "subsidy_rules.h"

#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/yaml_proto.h"

namespace kaigo::plugins::subsidy {

namespace v1 = kaigo::v1;

absl::CivilDay ToCivilDay(const v1::Date& date) {
  return absl::CivilDay(date.year(), date.month(), date.day());
}

v1::Date ToDate(absl::CivilDay day) {
  v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

bool IsCalendarDate(const v1::Date& date) {
  if (date.year() < 1900 || date.year() > 9999) return false;
  absl::CivilDay day = ToCivilDay(date);
  return day.year() == date.year() && day.month() == date.month() && day.day() == date.day();
}

std::string FormatDate(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

std::string FormatYen(int64_t amount) {
  std::string digits = absl::StrCat(amount < 0 ? -amount : amount);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return absl::StrCat(amount < 0 ? "-¥" : "¥", out);
}

absl::Status CheckRules(v1::SubsidyRules* rules) {
  std::vector<std::string> errors;
  auto error = [&](const std::string& field, const std::string& message) {
    errors.push_back(field + ": " + message);
  };
  for (int i = 0; i < rules->rounds_size(); ++i) {
    const auto& round = rules->rounds(i);
    std::string at = absl::StrCat("rounds[", i, "]");
    if (round.name().empty()) error(at + ".name", "required");
    if (!IsCalendarDate(round.open().start())) error(at + ".open.start", "not a calendar date");
    if (!IsCalendarDate(round.open().end())) error(at + ".open.end", "not a calendar date");
    if (IsCalendarDate(round.open().start()) && IsCalendarDate(round.open().end()) &&
        ToCivilDay(round.open().end()) < ToCivilDay(round.open().start())) {
      error(at + ".open", "ends before it starts");
    }
  }
  std::map<std::string, v1::SubsidyCategory*> categories;
  for (int i = 0; i < rules->categories_size(); ++i) {
    auto* category = rules->mutable_categories(i);
    std::string at = absl::StrCat("categories[", i, "]");
    if (category->id().empty()) error(at + ".id", "required");
    if (!categories.emplace(category->id(), category).second) {
      error(at + ".id", "'" + category->id() + "' appears twice");
    }
    if (category->name().empty()) error(at + ".name", "required");
    if (category->readers_covered() < 1 || category->readers_covered() > 1000) {
      error(at + ".readers_covered", "must be between 1 and 1000");
    }
    if (category->cap().amount() < 1) error(at + ".cap.amount", "must be 1 or more");
    category->clear_service_types();
  }
  if (categories.empty()) error("categories", "at least one category is required");
  std::set<std::string> codes;
  for (int i = 0; i < rules->service_types_size(); ++i) {
    const auto& type = rules->service_types(i);
    std::string at = absl::StrCat("service_types[", i, "]");
    if (type.code().size() != 2) error(at + ".code", "must be 2 characters");
    if (!codes.insert(type.code()).second) {
      error(at + ".code", "'" + type.code() + "' appears twice");
    }
    auto category = categories.find(type.category());
    if (category == categories.end()) {
      error(at + ".category", "no category '" + type.category() + "'");
    } else {
      category->second->add_service_types(type.code());
    }
  }
  std::set<v1::AttachmentKind> kinds;
  for (int i = 0; i < rules->attachments_size(); ++i) {
    const auto& rule = rules->attachments(i);
    std::string at = absl::StrCat("attachments[", i, "]");
    if (rule.kind() == v1::ATTACHMENT_KIND_UNSPECIFIED) error(at + ".kind", "required");
    if (!kinds.insert(rule.kind()).second) error(at + ".kind", "appears twice");
    if (rule.max_files() < 1 || rule.min_files() < 0 || rule.min_files() > rule.max_files()) {
      error(at, "needs 0 <= min_files <= max_files and max_files >= 1");
    }
  }
  if (rules->attachment_max_bytes() < 1) error("attachment_max_bytes", "must be 1 or more");
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
}

absl::StatusOr<v1::SubsidyRules> LoadRules(const std::string& path) {
  v1::SubsidyRules rules;
  if (auto s = sdk::LoadYamlMessage(path, &rules); !s.ok()) return s;
  if (auto s = CheckRules(&rules); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  if (rules.source().empty()) rules.set_source(path);
  return rules;
}

const v1::SubsidyRound* OpenRound(const v1::SubsidyRules& rules, absl::CivilDay day) {
  for (const auto& round : rules.rounds()) {
    if (ToCivilDay(round.open().start()) <= day && day <= ToCivilDay(round.open().end())) {
      return &round;
    }
  }
  return nullptr;
}

std::string NoRoundReason(const v1::SubsidyRules& rules, absl::CivilDay day) {
  const v1::SubsidyRound* last = nullptr;
  const v1::SubsidyRound* next = nullptr;
  for (const auto& round : rules.rounds()) {
    if (ToCivilDay(round.open().end()) < day &&
        (last == nullptr || ToCivilDay(last->open().end()) < ToCivilDay(round.open().end()))) {
      last = &round;
    }
    if (day < ToCivilDay(round.open().start()) &&
        (next == nullptr || ToCivilDay(round.open().start()) < ToCivilDay(next->open().start()))) {
      next = &round;
    }
  }
  std::string reason = absl::StrCat("no subsidy round is open on ", FormatDate(day));
  if (last != nullptr) {
    absl::StrAppend(&reason, "; ", last->name(), " closed on ",
                    FormatDate(ToCivilDay(last->open().end())));
  }
  if (next != nullptr) {
    absl::StrAppend(&reason, "; ", next->name(), " opens on ",
                    FormatDate(ToCivilDay(next->open().start())),
                    next->planned() ? " (planned)" : "");
  } else {
    absl::StrAppend(&reason, "; no later round is announced in the rules (", rules.source(), ")");
  }
  return reason;
}

absl::StatusOr<v1::EstimateResponse> Estimate(const v1::SubsidyRules& rules,
                                              const v1::EstimateRequest& request) {
  if (request.service_types().empty()) {
    return sdk::InvalidField("service_types", "REQUIRED",
                             "at least one サービス種類コード is required");
  }
  const v1::SubsidyCategory* best = nullptr;
  const v1::ServiceTypeCategory* best_type = nullptr;
  std::vector<std::string> steps;
  for (int i = 0; i < request.service_types_size(); ++i) {
    const std::string& code = request.service_types(i).value();
    const v1::ServiceTypeCategory* type = nullptr;
    for (const auto& t : rules.service_types()) {
      if (t.code() == code) type = &t;
    }
    if (type == nullptr) {
      return sdk::InvalidField(
          absl::StrCat("service_types[", i, "].value"), "SERVICE_TYPE",
          absl::StrCat("'", code, "' is not a サービス種類コード in the rules"));
    }
    const v1::SubsidyCategory* category = nullptr;
    for (const auto& c : rules.categories()) {
      if (c.id() == type->category()) category = &c;
    }
    steps.push_back(absl::StrCat("サービス種類 ", code, " ", type->name(), " → ", category->name(),
                                 " (readers covered ", category->readers_covered(), ", cap ",
                                 FormatYen(category->cap().amount()), ")"));
    if (best == nullptr || best->cap().amount() < category->cap().amount()) {
      best = category;
      best_type = type;
    }
  }
  if (request.service_types_size() > 1) {
    steps.push_back(absl::StrCat("The office's category is the one with the highest cap: ",
                                 best->name(), " (from ", best_type->code(), ")"));
  }
  if (request.readers() < 0) return sdk::InvalidField("readers", "RANGE", "must be 0 or more");
  int64_t a = request.reader_cost().amount();
  int64_t b = request.support_cost().amount();
  // Far above any real purchase, and low enough that A × readers cannot overflow.
  constexpr int64_t kMaxYen = 1'000'000'000'000;
  if (a < 0 || a > kMaxYen) {
    return sdk::InvalidField("reader_cost.amount", "RANGE",
                             "must be between 0 and ¥1,000,000,000,000");
  }
  if (b < 0 || b > kMaxYen) {
    return sdk::InvalidField("support_cost.amount", "RANGE",
                             "must be between 0 and ¥1,000,000,000,000");
  }
  if (a > 0 && request.readers() == 0) {
    return sdk::InvalidField("readers", "READERS_FOR_COST",
                             "A is above zero, so at least one reader was bought");
  }
  int64_t eligible = a;
  if (request.readers() > best->readers_covered()) {
    eligible = a * best->readers_covered() / request.readers();
    steps.push_back(absl::StrCat(
        "Readers: ", request.readers(), " bought, ", best->readers_covered(),
        " covered; A counts for ", best->readers_covered(), " of ", request.readers(), ": ",
        FormatYen(a), " × ", best->readers_covered(), "/", request.readers(), " = ",
        FormatYen(eligible), " (rounded down; readers taken to cost the same)"));
  } else {
    steps.push_back(absl::StrCat("Readers: ", request.readers(), " bought, within the ",
                                 best->readers_covered(), " covered: A = ", FormatYen(a)));
  }
  int64_t sum = eligible + b;
  steps.push_back(
      absl::StrCat("A + B = ", FormatYen(eligible), " + ", FormatYen(b), " = ", FormatYen(sum)));
  int64_t grant = std::min(sum, best->cap().amount());
  steps.push_back(absl::StrCat("Grant = min(", FormatYen(sum), ", cap ",
                               FormatYen(best->cap().amount()), ") = ", FormatYen(grant)));
  v1::EstimateResponse response;
  response.mutable_grant()->set_amount(grant);
  response.set_category(best->name());
  response.mutable_eligible_reader_cost()->set_amount(eligible);
  *response.mutable_cap() = best->cap();
  response.set_readers_covered(best->readers_covered());
  for (auto& step : steps) response.add_explanation(std::move(step));
  return response;
}

absl::StatusOr<v1::EstimateResponse> EstimateForm(const v1::SubsidyRules& rules,
                                                  const v1::ApplicationForm& form) {
  v1::EstimateRequest request;
  *request.mutable_service_types() = form.service_types();
  request.set_readers(form.readers().count());
  *request.mutable_reader_cost() = form.readers().cost();
  *request.mutable_support_cost() = form.support_cost();
  return Estimate(rules, request);
}

}  // namespace kaigo::plugins::subsidy

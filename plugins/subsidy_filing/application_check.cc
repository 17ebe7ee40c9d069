#include "application_check.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "japanese_text.h"
#include "subsidy_rules.h"

namespace kaigo::plugins::subsidy {

namespace v1 = kaigo::v1;

namespace {

using Findings = std::vector<v1::ApplicationFinding>;

void Add(Findings* to, std::string field, std::string rule, std::string message) {
  v1::ApplicationFinding f;
  f.set_field(std::move(field));
  f.set_rule(std::move(rule));
  f.set_message(std::move(message));
  to->push_back(std::move(f));
}

bool ContainsAny(const std::string& text,
                 const google::protobuf::RepeatedPtrField<std::string>& words, std::string* found) {
  std::string lower = absl::AsciiStrToLower(text);
  for (const auto& word : words) {
    if (!word.empty() && absl::StrContains(lower, absl::AsciiStrToLower(word))) {
      *found = word;
      return true;
    }
  }
  return false;
}

const char* KindName(v1::AttachmentKind kind) {
  switch (kind) {
    case v1::ATTACHMENT_KIND_PASSBOOK:
      return "passbook copy (通帳の写し)";
    case v1::ATTACHMENT_KIND_SERVICE_TYPE_DOCUMENT:
      return "service-type document (指定通知書 etc.)";
    case v1::ATTACHMENT_KIND_RECEIPT:
      return "receipt (領収書)";
    default:
      return "attachment";
  }
}

void CheckForm(const v1::SubsidyRules& rules, const v1::ApplicationForm& form, Findings* errors) {
  if (form.office_name().empty()) {
    Add(errors, "form.office_name", "required", "事業所名 is required");
  } else if (int n = text::Characters(form.office_name()); n < 0 || n > 100) {
    Add(errors, "form.office_name", "at most 100 characters of UTF-8 text",
        "事業所名 is too long or not UTF-8 text");
  }
  if (form.address().empty()) Add(errors, "form.address", "required", "所在地 is required");
  CheckPhone(form.phone(), "form.phone", errors);
  if (form.service_types().empty()) {
    Add(errors, "form.service_types", "at least one", "name the office's サービス種類コード");
  }
  std::set<std::string> seen;
  for (int i = 0; i < form.service_types_size(); ++i) {
    const std::string& code = form.service_types(i).value();
    std::string field = absl::StrCat("form.service_types[", i, "].value");
    bool known = std::any_of(rules.service_types().begin(), rules.service_types().end(),
                             [&](const auto& t) { return t.code() == code; });
    if (!known) {
      Add(errors, field, "サービス種類コード in the rules",
          "'" + code + "' is not a サービス種類コード the subsidy rules list");
    } else if (!seen.insert(code).second) {
      Add(errors, field, "no duplicates", "'" + code + "' is named twice");
    }
  }
  const auto& readers = form.readers();
  if (readers.cost().amount() < 0) {
    Add(errors, "form.readers.cost.amount", "0 or more", "A cannot be negative");
  }
  if (form.support_cost().amount() < 0) {
    Add(errors, "form.support_cost.amount", "0 or more", "B cannot be negative");
  }
  if (readers.cost().amount() == 0 && form.support_cost().amount() == 0) {
    Add(errors, "form.readers.cost.amount", "A + B above zero",
        "nothing to subsidise: both A (readers) and B (support) are zero");
  }
  if (readers.cost().amount() > 0 || readers.count() > 0) {
    if (readers.count() < 1) {
      Add(errors, "form.readers.count", "1 or more", "A is claimed, so give the number of readers");
    }
    if (readers.model().empty()) {
      Add(errors, "form.readers.model", "required", "give the reader's make and model (型番)");
    }
    if (!readers.supports_qualification_app()) {
      Add(errors, "form.readers.supports_qualification_app", "must be confirmed",
          "confirm that the reader supports マイナ資格確認アプリ");
    }
    if (readers.used()) {
      Add(errors, "form.readers.used", "new goods only", "used (中古) readers are not eligible");
    }
    if (readers.leased()) {
      Add(errors, "form.readers.leased", "bought goods only",
          "leased or rented (リース・レンタル) readers are not eligible");
    }
    std::string word;
    if (ContainsAny(readers.model(), rules.ineligible_words(), &word)) {
      Add(errors, "form.readers.model", "card readers only",
          "'" + word + "' is not eligible (PCs, tablets, phones, used or leased goods)");
    }
  }
  CheckBankAccount(form.bank(), "form.bank", errors);
}

void CheckAttachments(const v1::SubsidyRules& rules, const v1::SubsidyApplication& app,
                      Findings* errors, Findings* warnings) {
  std::map<v1::AttachmentKind, int> counts;
  int64_t reader_receipts = 0, support_receipts = 0;
  int support_receipt_count = 0, reader_receipt_count = 0;
  for (int i = 0; i < app.attachments_size(); ++i) {
    const auto& a = app.attachments(i);
    std::string field = absl::StrCat("attachments[", i, "]");
    ++counts[a.kind()];
    if (a.size_bytes() > rules.attachment_max_bytes()) {
      Add(errors, field + ".size_bytes",
          absl::StrCat("at most ", rules.attachment_max_bytes(), " bytes"),
          a.file_name() + " is too large");
    }
    if (a.detected_type() == v1::FILE_TYPE_UNSPECIFIED) {
      Add(errors, field + ".detected_type", "PDF, JPEG or PNG",
          a.file_name() + " is of no accepted type");
    }
    if (a.kind() != v1::ATTACHMENT_KIND_RECEIPT) continue;
    const auto& r = a.receipt();
    if (r.covers() == v1::RECEIPT_COVERS_UNSPECIFIED) {
      Add(errors, field + ".receipt.covers", "required",
          "say whether " + a.file_name() + " is for the readers (A) or the support (B)");
    }
    if (r.amount().amount() <= 0) {
      Add(errors, field + ".receipt.amount.amount", "above zero",
          "give the amount on " + a.file_name() + " (tax included)");
    }
    if (r.covers() == v1::RECEIPT_COVERS_READERS) {
      reader_receipts += r.amount().amount();
      ++reader_receipt_count;
    } else if (r.covers() == v1::RECEIPT_COVERS_SUPPORT) {
      support_receipts += r.amount().amount();
      ++support_receipt_count;
    }
    if (r.lines().empty()) {
      Add(errors, field + ".receipt.lines", "at least one",
          "give the lines of " + a.file_name() + " (product or model, and purpose)");
    }
    for (int j = 0; j < r.lines_size(); ++j) {
      std::string line_field = absl::StrCat(field, ".receipt.lines[", j, "]");
      std::string word;
      if (ContainsAny(r.lines(j), rules.ineligible_words(), &word)) {
        Add(errors, line_field, "eligible goods only",
            "'" + word + "' is not eligible (PCs, tablets, phones, used or leased goods)");
      } else if (ContainsAny(r.lines(j), rules.vague_words(), &word)) {
        Add(warnings, line_field, "name the product and purpose",
            "a receipt saying '" + word +
                "' may be returned: ask for one that names the reader model "
                "or the work done");
      }
    }
  }
  for (const auto& rule : rules.attachments()) {
    int n = counts[rule.kind()];
    if (n < rule.min_files() || n > rule.max_files()) {
      Add(errors, "attachments",
          absl::StrCat(KindName(rule.kind()), ": ", rule.min_files(), " to ", rule.max_files(),
                       " files"),
          absl::StrCat(KindName(rule.kind()), ": ", n, " attached, ", rule.min_files(), " to ",
                       rule.max_files(), " needed"));
    }
  }
  int64_t a = app.form().readers().cost().amount();
  int64_t b = app.form().support_cost().amount();
  if (a > 0 && reader_receipts != a) {
    Add(errors, "form.readers.cost.amount", "A equals the reader receipts",
        reader_receipt_count == 0
            ? absl::StrCat("A is ", FormatYen(a), " but no receipt for the readers is attached")
            : absl::StrCat("A is ", FormatYen(a), " but the ", reader_receipt_count,
                           " reader receipt(s) add up to ", FormatYen(reader_receipts)));
  }
  if (a == 0 && reader_receipts > 0) {
    Add(errors, "form.readers.cost.amount", "A equals the reader receipts",
        absl::StrCat("reader receipts add up to ", FormatYen(reader_receipts), " but A is ¥0"));
  }
  if (b > 0 && support_receipts != b) {
    Add(errors, "form.support_cost.amount", "B equals the support receipts",
        support_receipt_count == 0
            ? absl::StrCat("B is ", FormatYen(b), " but no receipt for the support is attached")
            : absl::StrCat("B is ", FormatYen(b), " but the ", support_receipt_count,
                           " support receipt(s) add up to ", FormatYen(support_receipts)));
  }
  if (b == 0 && support_receipts > 0) {
    Add(errors, "form.support_cost.amount", "B equals the support receipts",
        absl::StrCat("support receipts add up to ", FormatYen(support_receipts), " but B is ¥0"));
  }
}

const char* StatusWord(v1::ApplicationStatus status) {
  switch (status) {
    case v1::APPLICATION_STATUS_SUBMITTED:
      return "submitted";
    case v1::APPLICATION_STATUS_UNDER_REVIEW:
      return "under review";
    case v1::APPLICATION_STATUS_APPROVED:
      return "approved";
    case v1::APPLICATION_STATUS_PAID:
      return "paid";
    case v1::APPLICATION_STATUS_RETURNED:
      return "returned";
    default:
      return "on file";
  }
}

}  // namespace

void CheckPhone(const std::string& phone, const std::string& field, Findings* errors) {
  if (auto problem = text::PhoneProblem(phone)) Add(errors, field, text::kPhoneRule, *problem);
}

void CheckBankAccount(const v1::BankAccount& bank, const std::string& field, Findings* errors) {
  if (bank.kind() == v1::BANK_KIND_UNSPECIFIED) {
    Add(errors, field + ".kind", "bank or ゆうちょ", "choose 銀行等 or ゆうちょ銀行");
  }
  if (bank.bank_code().size() != 4 || !text::AllDigits(bank.bank_code())) {
    Add(errors, field + ".bank_code", "4 half-width digits", "金融機関コード is 4 digits");
  } else if (bank.kind() == v1::BANK_KIND_YUCHO && bank.bank_code() != "9900") {
    Add(errors, field + ".bank_code", "ゆうちょ銀行 is 9900",
        "for ゆうちょ銀行 the bank code is 9900, got " + bank.bank_code());
  } else if (bank.kind() == v1::BANK_KIND_BANK && bank.bank_code() == "9900") {
    Add(errors, field + ".kind", "9900 is ゆうちょ銀行",
        "bank code 9900 is ゆうちょ銀行: choose ゆうちょ");
  }
  if (bank.bank_name().empty())
    Add(errors, field + ".bank_name", "required", "金融機関名 is required");
  if (bank.branch_name().empty()) {
    Add(errors, field + ".branch_name", "required",
        bank.kind() == v1::BANK_KIND_YUCHO ? "店名 (e.g. 〇一八) is required"
                                           : "支店名 is required");
  }
  if (bank.branch_code().size() != 3 || !text::AllDigits(bank.branch_code())) {
    Add(errors, field + ".branch_code", "3 half-width digits",
        bank.kind() == v1::BANK_KIND_YUCHO ? "店番 is 3 digits (the 記号・番号 of a ゆうちょ "
                                             "passbook convert to 店番 and a 7-digit number)"
                                           : "支店コード is 3 digits");
  }
  if (bank.account_type() == v1::ACCOUNT_TYPE_UNSPECIFIED) {
    Add(errors, field + ".account_type", "普通 or 当座", "choose 普通 or 当座");
  }
  if (bank.account_number().size() != 7 || !text::AllDigits(bank.account_number())) {
    Add(errors, field + ".account_number", "7 half-width digits",
        absl::StrCat("口座番号 is 7 digits (pad with leading zeros), got '", bank.account_number(),
                     "'"));
  }
  if (auto problem = text::KatakanaProblem(bank.holder_kana())) {
    Add(errors, field + ".holder_kana", "full-width カタカナ",
        *problem == "required" ? "口座名義 (カナ) is required" : *problem);
  }
}

absl::CivilDay ResubmitFrom(const std::vector<PriorApplication>& prior) {
  absl::CivilDay first = prior.front().submitted_on;
  for (const auto& p : prior) first = std::min(first, p.submitted_on);
  absl::CivilMonth next = absl::CivilMonth(first) + 1;
  return absl::CivilDay(next);
}

v1::ApplicationReport CheckApplication(const v1::SubsidyRules& rules,
                                       const v1::SubsidyApplication& app,
                                       absl::CivilDay application_date,
                                       const std::vector<PriorApplication>& prior) {
  Findings errors, warnings;
  CheckForm(rules, app.form(), &errors);
  CheckAttachments(rules, app, &errors, &warnings);

  v1::ApplicationReport report;
  if (const auto* round = OpenRound(rules, application_date)) {
    report.set_round(round->name());
    if (round->planned()) {
      Add(&warnings, "application_date", "round dates as announced",
          round->name() + " dates are planned; the round may close early when its budget runs out");
    }
  } else {
    Add(&errors, "application_date", "a round open on the application date",
        NoRoundReason(rules, application_date));
  }
  bool returned_only = !prior.empty();
  for (const auto& p : prior) {
    if (p.status != v1::APPLICATION_STATUS_RETURNED) {
      returned_only = false;
      Add(&errors, "office", "one application per office number",
          absl::StrCat("application ", p.portal_id, " of ", FormatDate(p.submitted_on), " is ",
                       StatusWord(p.status), "; an office applies once"));
    }
  }
  if (returned_only) {
    absl::CivilDay from = ResubmitFrom(prior);
    if (application_date < from) {
      Add(&errors, "application_date", "resubmission from the month after the first application",
          absl::StrCat("the returned application may be filed again from ", FormatDate(from)));
    }
  }

  if (auto grant = EstimateForm(rules, app.form()); grant.ok()) *report.mutable_grant() = *grant;

  report.set_ok(errors.empty());
  for (auto& f : errors) *report.add_errors() = std::move(f);
  for (auto& f : warnings) *report.add_warnings() = std::move(f);
  return report;
}

}  // namespace kaigo::plugins::subsidy

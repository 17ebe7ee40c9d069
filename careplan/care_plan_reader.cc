#include "careplan/care_plan_reader.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "careplan/csv_reader.h"
#include "careplan/file_name.h"
#include "careplan/layout.h"
#include "careplan/ms932.h"
#include "careplan/repeats.h"
#include "kaigo/identifiers.h"

namespace kaigo::careplan {
namespace {

using v1::Finding;

bool Digits(absl::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

int Num(absl::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

bool UpperAlnum(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

bool ValidDate(absl::string_view s) {
  if (s.size() != 8 || !Digits(s)) return false;
  int y = Num(s.substr(0, 4)), m = Num(s.substr(4, 2)), d = Num(s.substr(6, 2));
  if (y < 1900 || m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

bool ValidMonth(absl::string_view s) {
  if (s.size() != 6 || !Digits(s)) return false;
  int m = Num(s.substr(4, 2));
  return Num(s.substr(0, 4)) >= 1900 && m >= 1 && m <= 12;
}

uint64_t Load8(const char* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
uint32_t Load4(const char* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

// a == b without a call to memcmp, which costs more than the compare for the few bytes of a
// remembered item: two loads from each that may overlap cover 4 to 16 bytes, three bytes 1 to 3.
inline bool SameBytes(absl::string_view a, absl::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8 && n <= 16) {
    return ((Load8(x) ^ Load8(y)) | (Load8(x + n - 8) ^ Load8(y + n - 8))) == 0;
  }
  if (n >= 4 && n < 8) {
    return ((Load4(x) ^ Load4(y)) | (Load4(x + n - 4) ^ Load4(y + n - 4))) == 0;
  }
  if (n >= 1 && n < 4) return x[0] == y[0] && x[n / 2] == y[n / 2] && x[n - 1] == y[n - 1];
  return a == b;
}

bool AllZero(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

// A problem with one value. `soft` problems are warnings in tolerant mode.
struct Problem {
  std::string rule;
  std::string message;
  bool soft = false;
};

// Sets *p and returns false, so that a check reads `return Fail(...)`.
bool Fail(Problem* p, std::string rule, std::string message, bool soft = false) {
  *p = {std::move(rule), std::move(message), soft};
  return false;
}

std::string Quoted(absl::string_view v) { return absl::StrCat("\"", v, "\""); }

bool CheckForm(const Column& c, absl::string_view v, Problem* p);

// Checks a non-empty value against its item's form. Text is checked for encoding only.
bool CheckValue(const Column& c, const CsvField& f, Problem* p) {
  const CarePlanItem& item = *c.item;
  const absl::string_view v = f.value;
  if (c.form == CarePlanItem::FORM_TEXT) {
    Ms932Scan scan = ScanMs932(v);
    switch (scan.issue) {
      case Ms932Issue::kNone:
        return true;
      case Ms932Issue::kInvalid:
        return Fail(p, "encoding",
                    absl::StrFormat("byte %d is not an MS932 character", scan.offset + 1));
      case Ms932Issue::kGaiji:
        return Fail(p, "encoding",
                    absl::StrFormat("byte %d is a 外字 (user-defined character), which "
                                    "the standard forbids",
                                    scan.offset + 1));
      case Ms932Issue::kDuplicate:
        return Fail(p, "encoding",
                    absl::StrFormat("byte %d is a character MS932 also has at another code "
                                    "(NEC-selected IBM extension or NEC row 13): write the "
                                    "code Windows writes, so the receiver reads the same bytes",
                                    scan.offset + 1),
                    true);
    }
  }
  return CheckForm(c, v, p) || (!item.sentinel().empty() && v == item.sentinel()) ||
         (!f.ascii && Fail(p, "charset", "must be half-width (ASCII) characters"));
}

// A value of the wrong length for a fixed-length form; `what` names the form.
bool FailFixed(const CarePlanItem& item, absl::string_view v, const char* what, Problem* p) {
  return Fail(p, "length",
              absl::StrFormat("must be %d characters (%s), got %d", item.length(), what, v.size()));
}

bool FailLonger(absl::string_view v, int len, const char* unit, Problem* p) {
  return Fail(p, "length", absl::StrFormat("at most %d %s, got %d", len, unit, v.size()));
}

// The numbers the standard defines with a check digit or a form of their own: CSVバージョン,
// 保険者番号, 被保険者番号, 介護保険事業所番号.
bool CheckNumbering(const Column& c, absl::string_view v, Problem* p) {
  const std::string_view view(v.data(), v.size());
  switch (c.form) {
    case CarePlanItem::FORM_VERSION:
      if (v.size() != 6 || !Digits(v)) return FailFixed(*c.item, v, "YYYYMM", p);
      if (ClassifyVersion(v) == VersionKind::kUnknown) {
        return Fail(p, "version",
                    absl::StrCat(Quoted(v),
                                 " is not a CSVバージョン of the standard (201910, 202003, 202208, "
                                 "202504, 202407)"));
      }
      return true;
    case CarePlanItem::FORM_INSURER_NUMBER: {
      if (v.size() != 6 || !Digits(v)) return FailFixed(*c.item, v, "digits", p);
      absl::Status s = ValidateInsurerNumber(view);
      return s.ok() || Fail(p, "check_digit", std::string(s.message()), true);
    }
    case CarePlanItem::FORM_INSURED_NUMBER: {
      absl::Status s = ValidateInsuredNumber(view);
      return s.ok() || Fail(p, "form", std::string(s.message()));
    }
    default: {  // FORM_OFFICE_NUMBER
      if (v.size() != 10) return FailFixed(*c.item, v, "介護保険事業所番号", p);
      absl::Status s = ValidateOfficeNumber(view);
      if (s.ok()) return true;
      bool check = absl::StrContains(s.message(), "check digit");
      return Fail(p, check ? "check_digit" : "form", std::string(s.message()), check);
    }
  }
}

// Dates, months and times of day; an item may admit all zeros for "none".
bool CheckCalendar(const Column& c, absl::string_view v, Problem* p) {
  const CarePlanItem& item = *c.item;
  switch (c.form) {
    case CarePlanItem::FORM_DATE:
      if (v.size() != 8 || !Digits(v)) return FailFixed(item, v, "YYYYMMDD", p);
      if (item.zero_allowed() && AllZero(v)) return true;
      return ValidDate(v) ||
             Fail(p, "date", absl::StrCat(Quoted(v), " is not a calendar date (YYYYMMDD)"));
    case CarePlanItem::FORM_MONTH:
      if (v.size() != 6 || !Digits(v)) return FailFixed(item, v, "YYYYMM", p);
      if (item.zero_allowed() && AllZero(v)) return true;
      return ValidMonth(v) || Fail(p, "month", absl::StrCat(Quoted(v), " is not a month (YYYYMM)"));
    default: {  // FORM_TIME
      if (v.size() != 4 || !Digits(v)) return FailFixed(item, v, "HHMM", p);
      int h = Num(v.substr(0, 2)), m = Num(v.substr(2, 2));
      if (v != "9999" && (m > 59 || h > 24 || (h == 24 && m != 0))) {
        return Fail(p, "time", absl::StrCat(Quoted(v), " is not a time HHMM (0000–2400) or 9999"));
      }
      return true;
    }
  }
}

// Values from a code table: the item's own table, サービス種類コード and サービスコード.
bool CheckCode(const Column& c, absl::string_view v, Problem* p) {
  switch (c.form) {
    case CarePlanItem::FORM_CODE:
      if (c.codes == nullptr || CodeLabel(*c.codes, v).empty()) {
        return Fail(p, "code",
                    absl::StrCat(Quoted(v), " is not a code of ",
                                 c.codes ? c.codes->title : c.item->codes(), " (",
                                 c.codes ? CodeList(*c.codes) : "", ")"));
      }
      return true;
    case CarePlanItem::FORM_SERVICE_TYPE:
      if (v.size() != 2 || !UpperAlnum(v)) return FailFixed(*c.item, v, "サービス種類コード", p);
      return IsKnownServiceType(v) ||
             Fail(p, "code", absl::StrCat(Quoted(v), " is not a サービス種類コード"));
    default:  // FORM_SERVICE_CODE
      if (v.size() != 6 || !UpperAlnum(v)) {
        return FailFixed(*c.item, v, "サービスコード: 種類 2 + 項目 4", p);
      }
      if (v != "999999" && !IsKnownServiceType(v.substr(0, 2))) {
        return Fail(
            p, "code",
            absl::StrCat(Quoted(v), ": ", Quoted(v.substr(0, 2)), " is not a サービス種類コード"));
      }
      return true;
  }
}

// Whole numbers and decimals (99.99) up to the item's length.
bool CheckQuantity(const Column& c, absl::string_view v, Problem* p) {
  const int len = c.item->length();
  if (c.form == CarePlanItem::FORM_NUMBER) {
    if (!Digits(v)) return Fail(p, "number", absl::StrCat(Quoted(v), " is not a whole number"));
    return static_cast<int>(v.size()) <= len || FailLonger(v, len, "digits", p);
  }
  size_t dot = v.find('.');
  bool ok = dot == absl::string_view::npos ? Digits(v)
                                           : Digits(v.substr(0, dot)) && Digits(v.substr(dot + 1));
  if (!ok) return Fail(p, "number", absl::StrCat(Quoted(v), " is not in 99.99 form"));
  return static_cast<int>(v.size()) <= len || FailLonger(v, len, "characters", p);
}

// Forms defined by their characters: postal code, phone number, plain half-width text and the
// 日割対象日 day mask.
bool CheckCharacters(const Column& c, absl::string_view v, Problem* p) {
  const int len = c.item->length();
  switch (c.form) {
    case CarePlanItem::FORM_POSTAL_CODE:
      if (v.size() != 8 || !Digits(v.substr(0, 3)) || v[3] != '-' || !Digits(v.substr(4))) {
        return Fail(p, "form", absl::StrCat(Quoted(v), " is not a postal code NNN-NNNN"));
      }
      return true;
    case CarePlanItem::FORM_PHONE:
      for (char ch : v) {
        if (!((ch >= '0' && ch <= '9') || ch == '-' || ch == '(' || ch == ')')) {
          return Fail(p, "form", absl::StrCat(Quoted(v), " is not a phone number (digits and -)"));
        }
      }
      return static_cast<int>(v.size()) <= len || FailLonger(v, len, "characters", p);
    case CarePlanItem::FORM_CHARS:
      for (char ch : v) {
        // A comma or quote would need quoting, which only free text gets.
        if (ch < 0x20 || ch > 0x7E || ch == ',' || ch == '"') {
          return Fail(p, "charset", "must be printable half-width characters other than , and \"");
        }
      }
      return static_cast<int>(v.size()) <= len || FailLonger(v, len, "characters", p);
    default:  // FORM_DAY_MASK
      if (v.size() != 31) return FailFixed(*c.item, v, "one 0 or 1 per day", p);
      for (char ch : v) {
        if (ch != '0' && ch != '1')
          return Fail(p, "form", "日割対象日 is 31 characters of 0 and 1");
      }
      return true;
  }
}

// A non-text value against its form. Every form but CHARS and PHONE admits only some ASCII, so
// the friendlier "half-width" message for other characters is worked out only on failure.
bool CheckForm(const Column& c, absl::string_view v, Problem* p) {
  switch (c.form) {
    case CarePlanItem::FORM_VERSION:
    case CarePlanItem::FORM_INSURER_NUMBER:
    case CarePlanItem::FORM_INSURED_NUMBER:
    case CarePlanItem::FORM_OFFICE_NUMBER:
      return CheckNumbering(c, v, p);
    case CarePlanItem::FORM_DATE:
    case CarePlanItem::FORM_MONTH:
    case CarePlanItem::FORM_TIME:
      return CheckCalendar(c, v, p);
    case CarePlanItem::FORM_CODE:
    case CarePlanItem::FORM_SERVICE_TYPE:
    case CarePlanItem::FORM_SERVICE_CODE:
      return CheckCode(c, v, p);
    case CarePlanItem::FORM_NUMBER:
    case CarePlanItem::FORM_DECIMAL:
      return CheckQuantity(c, v, p);
    case CarePlanItem::FORM_POSTAL_CODE:
    case CarePlanItem::FORM_PHONE:
    case CarePlanItem::FORM_CHARS:
    case CarePlanItem::FORM_DAY_MASK:
      return CheckCharacters(c, v, p);
    default:
      return true;
  }
}

// Collects findings for one file with the mode's severities and the cap.
class Sink {
 public:
  Sink(std::string file, Mode mode, size_t cap, std::vector<Finding>* out)
      : file_(std::move(file)), mode_(mode), cap_(cap), out_(out) {}
  ~Sink() {
    if (dropped_ > 0) {
      Finding f;
      f.set_severity(Finding::SEVERITY_WARNING);
      f.set_file(file_);
      f.set_rule("truncated");
      f.set_message(absl::StrCat(dropped_, " more findings not shown"));
      out_->push_back(std::move(f));
    }
  }
  void Add(bool error, int line, const Column* c, absl::string_view rule, std::string message) {
    if (error) ++errors_;
    if (out_->size() >= cap_) {
      ++dropped_;
      return;
    }
    Keep(error, line, c, rule, std::move(message));
  }
  // An error kept past the cap: why reading stopped.
  void Stop(int line, absl::string_view rule, std::string message) {
    ++errors_;
    Keep(true, line, nullptr, rule, std::move(message));
  }
  void Error(int line, const Column* c, absl::string_view rule, std::string message) {
    Add(true, line, c, rule, std::move(message));
  }
  void Warn(int line, const Column* c, absl::string_view rule, std::string message) {
    Add(false, line, c, rule, std::move(message));
  }
  // An error for senders, a warning for importers.
  void Soft(int line, const Column* c, absl::string_view rule, std::string message) {
    Add(mode_ == Mode::kStrict, line, c, rule, std::move(message));
  }
  // Soft, and reported once per file per rule (quoting, …).
  void SoftOnce(int line, const Column* c, absl::string_view rule, std::string message) {
    if (once_.insert(std::string(rule)).second) Soft(line, c, rule, std::move(message));
  }
  int errors() const { return errors_; }
  Mode mode() const { return mode_; }

 private:
  void Keep(bool error, int line, const Column* c, absl::string_view rule, std::string message) {
    Finding f;
    f.set_severity(error ? Finding::SEVERITY_ERROR : Finding::SEVERITY_WARNING);
    f.set_file(file_);
    f.set_line(line);
    if (c != nullptr) {
      f.set_item_number(c->number);
      f.set_item_name(c->item->name());
    }
    f.set_rule(std::string(rule));
    f.set_message(std::move(message));
    out_->push_back(std::move(f));
  }

  std::string file_;
  Mode mode_;
  size_t cap_;
  std::vector<Finding>* out_;
  size_t dropped_ = 0;
  int errors_ = 0;
  std::set<std::string> once_;
};

// The checks that span a record's items or the file's records.
class RecordRules {
 public:
  RecordRules(const Layout& layout, const v1::FileName& name, Sink* sink)
      : layout_(layout), name_(name), sink_(sink) {}

  void Check(int line, const std::vector<CsvField>& fields, const std::vector<Column>& columns) {
    // Columns are in No. order, so No. n is at n - 1 unless the version lacks items before it.
    auto value = [&](int number) -> absl::string_view {
      size_t at = static_cast<size_t>(number - 1);
      if (number >= 1 && at < columns.size() && columns[at].number == number) {
        return fields[at].value;
      }
      for (size_t i = 0; i < columns.size(); ++i) {
        if (columns[i].number == number) return fields[i].value;
      }
      return {};
    };
    FileKind kind = layout_.kind->kind;
    const std::string& month = name_.service_month();
    auto same_month = [&](int number) {
      absl::string_view v = value(number);
      if (!month.empty() && !v.empty() && v != month) {
        sink_->Error(line, layout_.ByNumber(number), "month",
                     absl::StrCat(Quoted(v), " differs from the file name's 対象年月 ", month,
                                  " (one service month per file)"));
      }
    };
    switch (kind) {
      case v1::FILE_KIND_UPHOSOKU: {
        bool plan_zero = AllZero(value(4)), month_zero = AllZero(value(63));
        if (plan_zero == month_zero) {
          sink_->Error(line, layout_.ByNumber(63), "link",
                       "利用者補足情報 belongs either to 第1表/第2表 (対象年月 000000) or to "
                       "第6表/第7表 (居宅サービス計画作成(変更)日 00000000): exactly one is zero");
        }
        same_month(63);
        break;
      }
      case v1::FILE_KIND_UPPLAN:
      case v1::FILE_KIND_UPJSK: {
        same_month(5);
        absl::string_view date = value(10), target = value(5);
        if (date.size() == 8 && target.size() == 6 && date.substr(0, 6) != target) {
          sink_->Error(line, layout_.ByNumber(10), "date",
                       absl::StrCat(Quoted(date), " is not in 対象年月 ", target));
        }
        absl::string_view type = value(15).substr(0, std::min<size_t>(2, value(15).size()));
        bool equipment = type == "17" || type == "67";
        if (equipment && columns.size() == layout_.columns.size() && value(16).empty() &&
            value(17).empty()) {
          sink_->Error(line, layout_.ByNumber(16), "equipment",
                       "福祉用具貸与 (17/67) needs the TAISコード or the 福祉用具届出コード");
        }
        if (!equipment && !value(19).empty()) {
          sink_->Soft(line, layout_.ByNumber(19), "detail_code",
                      "明細判別コード is for 福祉用具貸与 (17/67) only; leave it empty");
        }
        if (type.size() == 2 && IsKnownServiceType(type) && !IsExchangedServiceType(type)) {
          sink_->Warn(line, layout_.ByNumber(15), "scope",
                      absl::StrCat("サービス種類 ", type,
                                   " is not exchanged by ケアプランデータ連携; rows of it are not "
                                   "generated"));
        }
        break;
      }
      case v1::FILE_KIND_DLTPLAN:
      case v1::FILE_KIND_DLTJSK:
        same_month(4);
        break;
      case v1::FILE_KIND_UPSIKYU: {
        same_month(5);
        absl::string_view code = value(9), office = value(7), units = value(13);
        bool total = code == "999999";
        bool subtotal = code.size() == 6 && (code.substr(2) == "AAAA" || code.substr(2) == "EEEE" ||
                                             code.substr(2) == "ZZZZ");
        if (total) {
          has_total_ = true;
          if (office != "9999999999") {
            sink_->Error(line, layout_.ByNumber(7), "total_row",
                         "the 全合計 row (999999) carries サービス事業所コード 9999999999");
          }
        } else if (office == "9999999999") {
          sink_->Error(line, layout_.ByNumber(7), "total_row",
                       "9999999999 is for the 全合計 row (サービスコード 999999) only");
        }
        if ((total || subtotal) && !units.empty() && units != "0") {
          sink_->Error(line, layout_.ByNumber(13), "subtotal",
                       "単位数 is 0 on 種類別小計 and 全合計 rows");
        }
        if (code.size() == 6 && !total) {
          std::string type(code.substr(0, 2));
          if (code.substr(2) == "AAAA") {
            subtotal_types_.insert(type);
          } else if (!subtotal) {
            rows_per_type_[type]++;
          }
        }
        break;
      }
      default:
        break;
    }
    CheckOrder(line, value);
  }

  void Finish(int last_line) {
    if (layout_.kind->kind != v1::FILE_KIND_UPSIKYU || rows_ == 0) return;
    if (!has_total_) {
      sink_->Soft(last_line, layout_.ByNumber(9), "total_row",
                  "第7表 ends with the 全合計 row (サービスコード 999999), which is mandatory");
    }
    for (const auto& [type, rows] : rows_per_type_) {
      if (rows > 1 && subtotal_types_.count(type) == 0) {
        sink_->Soft(last_line, layout_.ByNumber(9), "subtotal",
                    absl::StrCat("サービス種類 ", type, " has ", rows,
                                 " rows: its 区分支給対象 "
                                 "subtotal row (",
                                 type, "AAAA) is required"));
      }
    }
  }

  void CountRow() { ++rows_; }

 private:
  // 第2表 and UPYOBO_SUB rows are in 課題NO, 目標/支援計画NO, 援助内容/利用サービスNO order per
  // plan.
  template <class ValueOf>
  void CheckOrder(int line, const ValueOf& value) {
    int a = 0, b = 0, c = 0;
    FileKind kind = layout_.kind->kind;
    if (kind == v1::FILE_KIND_UP2KYO) {
      a = 6, b = 8, c = 13;
    } else if (kind == v1::FILE_KIND_UPYOBO_SUB) {
      a = 5, b = 10, c = 14;
    } else {
      return;
    }
    std::string plan =
        absl::StrCat(value(2), "/", value(3), "/", value(kind == v1::FILE_KIND_UP2KYO ? 5 : 4));
    auto n = [&](int number) { return Digits(value(number)) ? Num(value(number)) : 0; };
    std::tuple<int, int, int> key{n(a), n(b), n(c)};
    if (plan == last_plan_ && key < last_key_) {
      sink_->Soft(line, layout_.ByNumber(a), "order",
                  "rows are sorted by 課題NO, then the goal's and the service's NO, as printed");
    }
    last_plan_ = plan;
    last_key_ = key;
  }

  const Layout& layout_;
  const v1::FileName& name_;
  Sink* sink_;
  int rows_ = 0;
  bool has_total_ = false;
  std::set<std::string> subtotal_types_;
  std::map<std::string, int> rows_per_type_;
  std::string last_plan_;
  std::tuple<int, int, int> last_key_{0, 0, 0};
};

void CheckDirection(const v1::FileName& name, const KindInfo& kind, Sink* sink) {
  if (name.older_form() || name.from_service_type().empty()) return;
  bool from_care_manager = IsCareManagerServiceType(name.from_service_type());
  bool expected = kind.direction == Direction::kToServiceOffice;
  if (from_care_manager != expected) {
    sink->Error(
        0, nullptr, "direction",
        absl::StrCat(kind.prefix,
                     expected ? " is sent by the care manager's office (サービス種類 43 or "
                                "46) to the service office"
                              : " is sent by the service office back to the care "
                                "manager's office",
                     "; this name says it comes from サービス種類 ", name.from_service_type()));
  }
  if (name.to_office().empty() || name.to_service_type().empty()) {
    sink->Soft(0, nullptr, "file_name", "the destination office and service type are empty");
  }
}

}  // namespace

bool ReadResult::has_errors() const {
  for (const Finding& f : findings) {
    if (f.severity() == Finding::SEVERITY_ERROR) return true;
  }
  return false;
}

// One error when the reader stopped at a limit; true if it did.
bool ReportStop(const CsvReader& reader, Sink* sink) {
  const CsvLimits& limits = reader.limits();
  switch (reader.stopped()) {
    case CsvStop::kNone:
      return false;
    case CsvStop::kFields:
      sink->Stop(reader.stop_line(), "max_fields",
                 absl::StrCat("more than ", limits.max_fields,
                              " fields in one record; validation stopped"));
      break;
    case CsvStop::kRecords:
      sink->Stop(reader.stop_line(), "max_records",
                 absl::StrCat("more than ", limits.max_records,
                              " records in one file; validation stopped"));
      break;
    case CsvStop::kIssues:
      sink->Stop(reader.stop_line(), "max_issues",
                 absl::StrCat("more than ", limits.max_issues,
                              " quoting issues in one file; validation stopped"));
      break;
  }
  return true;
}

namespace {

// A family image (UPKIHON_IMAGE) is a JPEG file, carried whole.
void ReadFamilyImage(const v1::FileName& name, absl::string_view bytes, const ReadOptions& options,
                     Sink* sink, ReadResult* result) {
  if (bytes.size() < 3 || bytes.substr(0, 3) != "\xFF\xD8\xFF") {
    sink->Error(0, nullptr, "image", "a family image is a JPEG file");
  } else if (options.typed && sink->errors() == 0) {
    *result->file.mutable_name() = name;
    result->file.set_image(std::string(bytes));
  }
}

// The file's CSVバージョン: its first record's No.1, which every later record repeats.
struct FileVersion {
  std::string text;  // empty until the first record
  VersionKind kind = VersionKind::kUnknown;
};

// Takes the version from the first record (checking senders write 4.1 and that the kind exists in
// it); checks later records repeat it.
void CheckVersion(const CsvRecord& record, const KindInfo& kind, const Layout& layout,
                  FileVersion* version, Sink* sink) {
  absl::string_view head = record.fields[0].value;
  const Column* c = layout.ByNumber(1);
  if (!version->text.empty()) {
    if (!SameBytes(head, version->text)) {
      sink->Error(
          record.line, c, "version",
          absl::StrCat("one file must not mix CSVバージョン: ", head, " after ", version->text));
    }
    return;
  }
  version->text = std::string(head);
  version->kind = ClassifyVersion(head);
  if (version->kind == VersionKind::kNonStandard) {
    sink->Soft(record.line, c, "version",
               absl::StrCat(version->text, " is not in the version history; read as 4.1 (202407)"));
  } else if (sink->mode() == Mode::kStrict && version->kind != VersionKind::kCurrent &&
             version->kind != VersionKind::kUnknown) {
    sink->Error(record.line, c, "version",
                absl::StrCat("senders write CSVバージョン ", kWrittenVersion, " (4.1), not ",
                             version->text));
  }
  if (version->kind == VersionKind::kBefore40 &&
      (kind.kind == v1::FILE_KIND_UP3KYO || kind.prevention)) {
    sink->Error(record.line, c, "version",
                absl::StrCat(kind.prefix, " exists from 4.0 on; CSVバージョン ", version->text,
                             " has no such file"));
  }
}

// Every field of a record against its column: quoting, required, form. The hot loop of reading.
// `last_valid` holds per column the last value that passed, for Column::remembered.
void CheckFields(const CsvRecord& record, const std::vector<Column>& columns,
                 std::vector<std::string>* last_valid, Sink* sink) {
  Problem p;  // set by CheckValue when it fails
  if (last_valid->size() != columns.size()) last_valid->assign(columns.size(), std::string());
  // Sizes and bases in locals: the compiler cannot keep them across the findings' stores.
  const size_t column_count = columns.size();
  const Column* column_at = columns.data();
  const CsvField* field_at = record.fields.data();
  std::string* last_valid_at = last_valid->data();
  for (size_t i = 0; i < column_count; ++i) {
    const Column& c = column_at[i];
    const CsvField& f = field_at[i];
    bool is_text = c.form == CarePlanItem::FORM_TEXT;
    if (is_text != f.quoted) {
      sink->SoftOnce(record.line, &c, "quoting",
                     is_text ? "free text (フリーテキスト) is enclosed in double quotes"
                             : "only free text is enclosed in double quotes");
    }
    if (f.value.empty()) {
      if (c.required) sink->Error(record.line, &c, "required", "a required item is empty");
      continue;
    }
    // A value that just passed its check passes again (Column::remembered).
    if (c.remembered && SameBytes(f.value, last_valid_at[i])) continue;
    // Whole numbers and ASCII text, most of a record, pass here without a call: the same
    // rules as CheckValue's, which says what is wrong when they fail.
    if (c.form == CarePlanItem::FORM_NUMBER && f.value.size() <= static_cast<size_t>(c.length) &&
        Digits(f.value)) {
      continue;
    }
    if (c.form == CarePlanItem::FORM_TEXT && f.ascii) continue;
    if (CheckValue(c, f, &p)) {
      if (c.remembered) last_valid_at[i].assign(f.value.data(), f.value.size());
    } else if (p.soft) {
      sink->Soft(record.line, &c, p.rule, std::move(p.message));
    } else {
      sink->Error(record.line, &c, p.rule, std::move(p.message));
    }
  }
}

// Appends the record to the typed file's list of rows, free text converted to UTF-8.
void AddTypedRow(const CsvRecord& record, const std::vector<Column>& columns, const Layout& layout,
                 v1::CarePlanFile* file, Sink* sink) {
  google::protobuf::Message* row = file->GetReflection()->AddMessage(file, layout.list);
  const google::protobuf::Reflection* r = row->GetReflection();
  for (size_t i = 0; i < columns.size(); ++i) {
    const Column& c = columns[i];
    const CsvField& f = record.fields[i];
    absl::string_view v = f.value;
    if (v.empty()) continue;
    if (c.form == CarePlanItem::FORM_TEXT && !f.ascii) {
      auto utf8 = Ms932ToUtf8(v);
      if (!utf8.ok()) {
        sink->Error(record.line, &c, "encoding", std::string(utf8.status().message()));
        continue;
      }
      r->SetString(row, c.field, *std::move(utf8));
    } else {
      r->SetString(row, c.field, std::string(v));
    }
  }
}

// The quoting problems the CSV reader recovered from, as findings.
void ReportCsvIssues(const CsvReader& reader, const Layout& layout, Sink* sink) {
  for (const CsvIssue& issue : reader.issues()) {
    const Column* c = layout.ByNumber(issue.field);
    switch (issue.kind) {
      case CsvIssue::kUnterminatedQuote:
        sink->Error(issue.line, c, "quoting",
                    "a quoted field is not closed before the end of the file");
        break;
      case CsvIssue::kStrayQuote:
        sink->Soft(issue.line, c, "quoting", "a double quote inside an unquoted field");
        break;
      case CsvIssue::kTextAfterQuote:
        sink->Soft(issue.line, c, "quoting", "characters after the closing quote");
        break;
    }
  }
}

// After the last record: the whole file's checks, then the typed file's name and line endings
// (or no typed file, when there is an error or none was asked for).
void FinishFile(const CsvReader& reader, const v1::FileName& name, const ReadOptions& options,
                Sink* sink, ReadResult* result) {
  if (reader.crlf_count() > 0 && reader.lf_count() > 0) {
    sink->Soft(0, nullptr, "line_ending",
               absl::StrFormat("mixed line endings (%d CRLF, %d LF)", reader.crlf_count(),
                               reader.lf_count()));
  }
  if (result->records == 0 && sink->errors() == 0) {
    sink->Error(0, nullptr, "empty", "the file has no records");
  }
  v1::CarePlanFile& file = result->file;
  if (!options.typed || sink->errors() > 0) {
    file.Clear();
    return;
  }
  *file.mutable_name() = name;
  file.set_line_ending(reader.crlf_count() >= reader.lf_count() ? v1::LINE_ENDING_CRLF
                                                                : v1::LINE_ENDING_LF);
  file.set_last_line_unterminated(reader.last_line_unterminated());
  if (options.resolve_repeats) ResolveRepeats(&file);
}

}  // namespace

ReadResult ReadCarePlanFile(absl::string_view file_name, absl::string_view bytes,
                            const ReadOptions& options) {
  ReadResult result;
  std::string display(file_name.substr(file_name.find_last_of("/\\") == absl::string_view::npos
                                           ? 0
                                           : file_name.find_last_of("/\\") + 1));
  Sink sink(display, options.mode, options.max_findings, &result.findings);
  auto name = ParseFileName(file_name);
  if (!name.ok()) {
    sink.Error(0, nullptr, "file_name", std::string(name.status().message()));
    return result;
  }
  const KindInfo& kind = *FindKind(name->kind());
  if (name->older_form()) {
    sink.Soft(0, nullptr, "file_name",
              "the older name without サービス種類コード segments; 4.x names carry them");
  }
  CheckDirection(*name, kind, &sink);
  if (kind.kind == v1::FILE_KIND_UPKIHON_IMAGE) {
    ReadFamilyImage(*name, bytes, options, &sink, &result);
    return result;
  }
  const Layout& layout = *LayoutFor(kind.kind);
  CsvReader reader(bytes, options.limits);
  if (reader.had_bom()) {
    sink.Soft(1, nullptr, "bom", "a byte-order mark is not part of an MS932 file; skipped");
  }
  RecordRules rules(layout, *name, &sink);
  CsvRecord record;
  FileVersion version;
  bool first = true;
  int last_line = 0;
  std::vector<std::string> last_valid;  // per column: the last value that passed
  while (reader.Next(&record)) {
    last_line = record.line;
    if (record.blank()) {
      sink.Soft(record.line, nullptr, "blank_line", "a blank line; skipped");
      continue;
    }
    absl::string_view head = record.fields[0].value;
    if (first && !(head.size() == 6 && Digits(head))) {
      first = false;
      sink.Soft(record.line, nullptr, "header",
                "the first row is not a record (No.1 CSVバージョン is not 6 digits): a header row "
                "is not part of the standard; skipped");
      continue;
    }
    first = false;
    CheckVersion(record, kind, layout, &version, &sink);
    const std::vector<Column>& columns = layout.ForVersion(version.kind);
    if (record.fields.size() != columns.size()) {
      sink.Error(record.line, nullptr, "field_count",
                 absl::StrFormat("%s has %d items in CSVバージョン %s; this record has %d",
                                 kind.prefix, columns.size(), version.text, record.fields.size()));
      continue;
    }
    ++result.records;
    rules.CountRow();
    int errors_before = sink.errors();
    CheckFields(record, columns, &last_valid, &sink);
    if (sink.errors() == errors_before) rules.Check(record.line, record.fields, columns);
    if (options.typed && sink.errors() == 0) {
      AddTypedRow(record, columns, layout, &result.file, &sink);
    }
  }
  ReportCsvIssues(reader, layout, &sink);
  if (ReportStop(reader, &sink)) {
    result.file.Clear();
    return result;
  }
  rules.Finish(last_line);
  FinishFile(reader, *name, options, &sink, &result);
  return result;
}

std::vector<ReadResult> ReadCarePlanFiles(const std::vector<FileInput>& files,
                                          const ReadOptions& options, int threads) {
  std::vector<ReadResult> results(files.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      results[i] = ReadCarePlanFile(files[i].name, files[i].bytes, options);
    }
  };
  size_t extra =
      std::min<size_t>(threads > 1 ? threads - 1 : 0, files.empty() ? 0 : files.size() - 1);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < extra; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return results;
}

std::string FormatFinding(const Finding& f) {
  std::string where = f.file();
  if (f.line() > 0) absl::StrAppend(&where, ":", f.line());
  std::string item;
  if (f.item_number() > 0) item = absl::StrCat(" item ", f.item_number(), " ", f.item_name(), ":");
  return absl::StrCat(where, ":", item, " ",
                      f.severity() == Finding::SEVERITY_ERROR ? "error" : "warning", " [", f.rule(),
                      "]: ", f.message());
}

}  // namespace kaigo::careplan

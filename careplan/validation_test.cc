// A table of broken files, each with its exact diagnostics: file, line, item No., item name, the
// rule broken and the message, in strict (senders) or tolerant (importers) mode.
#include <gtest/gtest.h>

#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "careplan/care_plan_reader.h"
#include "careplan/care_plan_writer.h"
#include "careplan/file_name.h"
#include "careplan/ms932.h"
#include "careplan/testing/sample_files.h"

namespace kaigo::careplan {
namespace {

using testing::SampleOptions;
using K = v1::FileKind;

struct Case {
  const char* what;
  K kind;
  Mode mode;
  // Edits the typed sample (one recipient, two rows) before it is written.
  std::function<void(v1::CarePlanFile*)> edit_typed;
  // Edits the written bytes (MS932) and may rename the file.
  std::function<void(std::string* bytes, std::string* name)> edit_bytes;
  std::vector<std::string> expected;
};

std::string Sjis(const char* utf8) { return *Utf8ToMs932(utf8); }

void ReplaceFirst(std::string* bytes, const std::string& from, const std::string& to) {
  size_t at = bytes->find(from);
  if (at != std::string::npos) bytes->replace(at, from.size(), to);
}

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      {"サービスコード of 5 characters",
       K::FILE_KIND_UPPLAN,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upplan(0)->set_service_code("11121"); },
       nullptr,
       {"UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 15 サービスコード: "
        "error [length]: must be 6 characters (サービスコード: 種類 2 + 項目 4), got 5"}},

      {"日付 that is not a calendar date",
       K::FILE_KIND_UPPLAN,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upplan(1)->set_service_date("20261131"); },
       nullptr,
       {"UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:3: item 10 サービス利用日: "
        "error [date]: \"20261131\" is not a calendar date (YYYYMMDD)"}},
      {"サービス利用日 outside 対象年月",
       K::FILE_KIND_UPPLAN,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upplan(0)->set_service_date("20261201"); },
       nullptr,
       {"UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 10 サービス利用日: "
        "error [date]: \"20261201\" is not in 対象年月 202611"}},
      {"30日超区分 outside its code table",
       K::FILE_KIND_UPPLAN,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upplan(0)->set_over_30_days("2"); },
       nullptr,
       {"UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 23 30日超区分: error "
        "[code]: \"2\" is not a code of 該当／非該当 (1 該当, 0 非該当)"}},
      {"保険者番号 check digit, strict",
       K::FILE_KIND_UPPLAN,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upplan(0)->set_insurer_number("131012"); },
       nullptr,
       {"UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 2 保険者番号: error "
        "[check_digit]: \"131012\": check digit is 2, expected 1 (modulus 10, weights 2-1)"}},
      {"保険者番号 check digit, tolerant",
       K::FILE_KIND_UPPLAN,
       Mode::kTolerant,
       [](v1::CarePlanFile* f) { f->mutable_upplan(0)->set_insurer_number("131012"); },
       nullptr,
       {"UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 2 保険者番号: "
        "warning [check_digit]: \"131012\": check digit is 2, expected 1 (modulus 10, weights "
        "2-1)"}},
      {"計画書区分 outside its code table",
       K::FILE_KIND_UP1KYO,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_up1kyo(0)->set_plan_category("99"); },
       nullptr,
       {"UP1KYO_1371000017_43_1371000025_11_20261124100000.CSV:1: item 16 計画書区分: error "
        "[code]: \"99\" is not a code of 計画書区分 (11 初回, 12 紹介, 21 継続, 51 初回＆紹介, 52 "
        "初回＆継続, 53 紹介＆継続, 54 初回＆紹介＆継続)"}},
      {"a required item empty",
       K::FILE_KIND_UPPLAN,
       Mode::kTolerant,
       [](v1::CarePlanFile* f) { f->mutable_upplan(1)->set_service_office_number(""); },
       nullptr,
       {"UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:3: item 20 "
        "サービス事業者コード: error [required]: a required item is empty"}},
      {"a time past 24:00",
       K::FILE_KIND_UPPLAN,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upplan(0)->set_start_time("2530"); },
       nullptr,
       {"UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 12 サービス開始時刻: "
        "error [time]: \"2530\" is not a time HHMM (0000–2400) or 9999"}},
      {"被保険者番号 of 9 digits",
       K::FILE_KIND_UP1KYO,
       Mode::kTolerant,
       [](v1::CarePlanFile* f) { f->mutable_up1kyo(0)->set_insured_number("123456789"); },
       nullptr,
       {"UP1KYO_1371000017_43_1371000025_11_20261124100000.CSV:1: item 3 被保険者番号: error "
        "[form]: \"123456789\" must be 10 half-width digits or \"H\" and 9 digits (被保険者番号)"}},
      {"利用者補足情報 linked to both",
       K::FILE_KIND_UPHOSOKU,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_uphosoku(0)->set_target_month("000000"); },
       nullptr,
       {"UPHOSOKU_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 63 対象年月: error "
        "[link]: 利用者補足情報 belongs either to 第1表/第2表 (対象年月 000000) or to 第6表/第7表 "
        "(居宅サービス計画作成(変更)日 00000000): exactly one is zero",
        "UPHOSOKU_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 63 対象年月: error "
        "[month]: \"000000\" differs from the file name's 対象年月 202611 (one service month per "
        "file)"}},
      {"第7表 without its 全合計 row, strict",
       K::FILE_KIND_UPSIKYU,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upsikyu()->RemoveLast(); },
       nullptr,
       {"UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV:3: item 9 サービスコード: "
        "error [total_row]: 第7表 ends with the 全合計 row (サービスコード 999999), which is "
        "mandatory"}},
      {"第7表 without its 全合計 row, tolerant",
       K::FILE_KIND_UPSIKYU,
       Mode::kTolerant,
       [](v1::CarePlanFile* f) { f->mutable_upsikyu()->RemoveLast(); },
       nullptr,
       {"UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV:3: item 9 サービスコード: "
        "warning [total_row]: 第7表 ends with the 全合計 row (サービスコード 999999), which is "
        "mandatory"}},
      {"第7表 全合計 row without 9999999999",
       K::FILE_KIND_UPSIKYU,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upsikyu(3)->set_service_office_number("1371000025"); },
       nullptr,
       {"UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV:4: item 7 "
        "サービス事業所コード: error [total_row]: the 全合計 row (999999) carries "
        "サービス事業所コード 9999999999"}},
      {"福祉用具貸与 without TAISコード",
       K::FILE_KIND_UPPLAN,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upplan(0)->set_service_code("171001"); },
       nullptr,
       {"UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 16 TAISコード: error "
        "[equipment]: 福祉用具貸与 (17/67) needs the TAISコード or the 福祉用具届出コード"}},
      {"実績 named as sent by the care manager",
       K::FILE_KIND_UPJSK,
       Mode::kStrict,
       nullptr,
       [](std::string*, std::string* name) {
         *name = "UPJSK_202611_1371000025_43_1371000017_43_20261124100000.CSV";
       },
       {"UPJSK_202611_1371000025_43_1371000017_43_20261124100000.CSV: error [direction]: UPJSK is "
        "sent by the service office back to the care manager's office; this name says it comes "
        "from サービス種類 43"}},
      {"a file name with a 4-digit month",
       K::FILE_KIND_UPPLAN,
       Mode::kTolerant,
       nullptr,
       [](std::string*, std::string* name) {
         *name = "UPPLAN_2026_1371000017_43_1371000025_11_20261124100000.CSV";
       },
       {"UPPLAN_2026_1371000017_43_1371000025_11_20261124100000.CSV: error [file_name]: file name "
        "UPPLAN_2026_1371000017_43_1371000025_11_20261124100000.CSV: 対象年月 after UPPLAN must be "
        "6 digits (YYYYMM)"}},
      {"the older file name, strict",
       K::FILE_KIND_UPPLAN,
       Mode::kStrict,
       nullptr,
       [](std::string*, std::string* name) {
         *name = "UPPLAN_202611_1371000017_1371000025_20261124100000.CSV";
       },
       {"UPPLAN_202611_1371000017_1371000025_20261124100000.CSV: error [file_name]: the older name "
        "without サービス種類コード segments; 4.x names carry them"}},
      {"a byte-order mark and a header row, tolerant",
       K::FILE_KIND_DLTPLAN,
       Mode::kTolerant,
       nullptr,
       [](std::string* bytes, std::string*) {
         *bytes = "\xEF\xBB\xBF" + Sjis("CSVバージョン,保険者番号,被保険者番号,削除対象年月\r\n") +
                  *bytes;
       },
       {"DLTPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: warning [bom]: a "
        "byte-order mark is not part of an MS932 file; skipped",
        "DLTPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: warning [header]: the "
        "first row is not a record (No.1 CSVバージョン is not 6 digits): a header row is not part "
        "of the standard; skipped"}},
      {"a byte-order mark, strict",
       K::FILE_KIND_DLTPLAN,
       Mode::kStrict,
       nullptr,
       [](std::string* bytes, std::string*) { *bytes = "\xEF\xBB\xBF" + *bytes; },
       {"DLTPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: error [bom]: a "
        "byte-order mark is not part of an MS932 file; skipped"}},
      {"外字 in free text",
       K::FILE_KIND_UP1KYO,
       Mode::kTolerant,
       nullptr,
       [](std::string* bytes, std::string*) {
         ReplaceFirst(bytes, Sjis("山田"), "\xF0\x40\xF0\x41");
       },
       {"UP1KYO_1371000017_43_1371000025_11_20261124100000.CSV:1: item 8 "
        "居宅サービス計画作成者氏名: error [encoding]: byte 1 is a 外字 (user-defined character), "
        "which the standard forbids"}},
      {"an NEC-selected IBM extension, tolerant",
       K::FILE_KIND_UP1KYO,
       Mode::kTolerant,
       nullptr,
       [](std::string* bytes, std::string*) { ReplaceFirst(bytes, Sjis("山田"), "\xED\x40"); },
       {"UP1KYO_1371000017_43_1371000025_11_20261124100000.CSV:1: item 8 "
        "居宅サービス計画作成者氏名: warning [encoding]: byte 1 is a character MS932 also has at "
        "another code (NEC-selected IBM extension or NEC row 13): write the code Windows writes, "
        "so the receiver reads the same bytes"}},
      {"a record one item short",
       K::FILE_KIND_DLTJSK,
       Mode::kStrict,
       nullptr,
       [](std::string* bytes, std::string*) {
         *bytes = absl::StrReplaceAll(*bytes, {{",11\r\n", "\r\n"}});
       },
       {"DLTJSK_202611_1371000025_11_1371000017_43_20261124100000.CSV:1: error [field_count]: "
        "DLTJSK has 6 items in CSVバージョン 202407; this record has 5"}},
      {"two CSV versions in one file",
       K::FILE_KIND_DLTPLAN,
       Mode::kTolerant,
       nullptr,
       [](std::string* bytes, std::string*) { *bytes += "202504,131011,0000100004,202611\r\n"; },
       {"DLTPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:2: item 1 CSVバージョン: "
        "error [version]: one file must not mix CSVバージョン: 202504 after 202407"}},
      {"a 4.0 version from a sender",
       K::FILE_KIND_DLTPLAN,
       Mode::kStrict,
       nullptr,
       [](std::string* bytes, std::string*) {
         *bytes = absl::StrReplaceAll(*bytes, {{"202407,", "202504,"}});
       },
       {"DLTPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 1 CSVバージョン: "
        "error [version]: senders write CSVバージョン 202407 (4.1), not 202504"}},
      {"the 202410 version some code writes, tolerant",
       K::FILE_KIND_DLTPLAN,
       Mode::kTolerant,
       nullptr,
       [](std::string* bytes, std::string*) {
         *bytes = absl::StrReplaceAll(*bytes, {{"202407,", "202410,"}});
       },
       {"DLTPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 1 CSVバージョン: "
        "warning [version]: 202410 is not in the version history; read as 4.1 (202407)"}},
      {"第3表 in a 201910 file",
       K::FILE_KIND_UP3KYO,
       Mode::kTolerant,
       nullptr,
       [](std::string* bytes, std::string*) {
         *bytes = absl::StrReplaceAll(*bytes, {{"202407,", "201910,"}});
       },
       {"UP3KYO_1371000017_43_1371000025_11_20261124100000.CSV:1: item 1 CSVバージョン: error "
        "[version]: UP3KYO exists from 4.0 on; CSVバージョン 201910 has no such file"}},
      {"free text without quotes, strict",
       K::FILE_KIND_UP1KYO,
       Mode::kStrict,
       nullptr,
       [](std::string* bytes, std::string*) {
         ReplaceFirst(bytes, "\"" + Sjis("山田　花子") + "\"", Sjis("山田　花子"));
       },
       {"UP1KYO_1371000017_43_1371000025_11_20261124100000.CSV:1: item 8 "
        "居宅サービス計画作成者氏名: error [quoting]: free text (フリーテキスト) is enclosed in "
        "double quotes"}},
      {"a quote left open",
       K::FILE_KIND_DLTPLAN,
       Mode::kTolerant,
       nullptr,
       [](std::string* bytes, std::string*) { *bytes += "202407,131011,\"0000100004,202611\r\n"; },
       {"DLTPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:2: error [field_count]: "
        "DLTPLAN has 4 items in CSVバージョン 202407; this record has 3",
        "DLTPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV:2: item 3 被保険者番号: "
        "error [quoting]: a quoted field is not closed before the end of the file"}},
      {"第2表 rows out of order",
       K::FILE_KIND_UP2KYO,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_up2kyo(1)->set_goal_no("0"); },
       nullptr,
       {"UP2KYO_1371000017_43_1371000025_11_20261124100000.CSV:3: item 6 課題NO: error [order]: "
        "rows are sorted by 課題NO, then the goal's and the service's NO, as printed"}},
      {"a TAISコード with a comma (it would need quoting)",
       K::FILE_KIND_UPSIKYU,
       Mode::kTolerant,
       [](v1::CarePlanFile* f) { f->mutable_upsikyu(0)->set_tais_code("00001-000010"); },
       [](std::string* bytes, std::string*) {
         ReplaceFirst(bytes, "00001-000010", "\"00001,00001\"");
       },
       {"UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 10 TAISコード: "
        "warning [quoting]: only free text is enclosed in double quotes",
        "UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 10 TAISコード: "
        "error [charset]: must be printable half-width characters other than , and \""}},
      {"a 単位数 of 7 digits",
       K::FILE_KIND_UPSIKYU,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upsikyu(0)->set_units("1234567"); },
       nullptr,
       {"UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 13 単位数: "
        "error [length]: at most 6 digits, got 7"}},
      {"a 回数/日数 that is not a whole number",
       K::FILE_KIND_UPSIKYU,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upsikyu(0)->set_count("1a"); },
       nullptr,
       {"UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 16 回数/日数: "
        "error [number]: \"1a\" is not a whole number"}},
      {"a 回数/日数 in full-width digits",
       K::FILE_KIND_UPSIKYU,
       Mode::kStrict,
       [](v1::CarePlanFile* f) { f->mutable_upsikyu(0)->set_count("777"); },
       [](std::string* bytes, std::string*) {
         ReplaceFirst(bytes, ",777,", "," + Sjis("７７７") + ",");
       },
       {"UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV:1: item 16 回数/日数: "
        "error [charset]: must be half-width (ASCII) characters"}},
      {"a file without records",
       K::FILE_KIND_DLTPLAN,
       Mode::kStrict,
       nullptr,
       [](std::string* bytes, std::string*) { bytes->clear(); },
       {"DLTPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV: error [empty]: the file "
        "has no records"}},
  };
  return *cases;
}

class Validation : public ::testing::TestWithParam<size_t> {};

TEST_P(Validation, ReportsExactly) {
  const Case& c = Cases()[GetParam()];
  SampleOptions o;
  o.recipients = 1;
  o.rows_per_recipient = 2;
  v1::CarePlanFile file = testing::SampleFile(c.kind, o);
  if (c.edit_typed) c.edit_typed(&file);
  std::string bytes = *WriteCarePlanFile(file);
  std::string name = FormatFileName(file.name());
  if (c.edit_bytes) c.edit_bytes(&bytes, &name);
  ReadOptions options;
  options.mode = c.mode;
  ReadResult result = ReadCarePlanFile(name, bytes, options);
  std::vector<std::string> actual;
  for (const auto& f : result.findings) actual.push_back(FormatFinding(f));
  EXPECT_EQ(actual, c.expected) << c.what << "\nactual:\n" << absl::StrJoin(actual, "\n");
}

INSTANTIATE_TEST_SUITE_P(Table, Validation, ::testing::Range<size_t>(0, Cases().size()));

// Past a limit of what one file may make the reader hold, reading stops with one error naming
// the limit, kept even when the findings before it filled max_findings.
TEST(Validation, LimitsStopReadingWithOneFinding) {
  const std::string name = "DLTPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV";
  struct Bomb {
    std::string bytes;
    std::string expected;
  };
  const std::vector<Bomb> bombs = {
      {"202407," + std::string(600, ','),
       name + ":1: error [max_fields]: more than 512 fields in one record; validation stopped"},
      {"a" + std::string(1500, '"'),
       name + ":1: error [max_issues]: more than 1000 quoting issues in one file; validation "
              "stopped"},
      {std::string(200001, '\n'),
       name + ":200001: error [max_records]: more than 200000 records in one file; validation "
              "stopped"},
  };
  for (const Bomb& bomb : bombs) {
    ReadResult result = ReadCarePlanFile(name, bomb.bytes, ReadOptions());
    std::vector<std::string> stops;
    for (const auto& f : result.findings) {
      if (absl::StartsWith(f.rule(), "max_")) stops.push_back(FormatFinding(f));
    }
    EXPECT_EQ(stops, std::vector<std::string>{bomb.expected});
    EXPECT_LE(result.findings.size(), ReadOptions().max_findings + 2);  // + the stop, truncated
  }
}

}  // namespace
}  // namespace kaigo::careplan

#include "careplan/code_tables.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace kaigo::careplan {
namespace {

constexpr Code kPlanCategory[] = {{"11", "初回"},
                                  {"12", "紹介"},
                                  {"21", "継続"},
                                  {"51", "初回＆紹介"},
                                  {"52", "初回＆継続"},
                                  {"53", "紹介＆継続"},
                                  {"54", "初回＆紹介＆継続"}};
constexpr Code kCertificationStatus[] = {{"1", "申請中"}, {"2", "認定済"}};
constexpr Code kCareLevel[] = {{"06", "事業対象者"}, {"12", "要支援１"}, {"13", "要支援２"},
                               {"21", "要介護１"},   {"22", "要介護２"}, {"23", "要介護３"},
                               {"24", "要介護４"},   {"25", "要介護５"}};
// 利用者基本情報 adds 01 非該当 and has no 06.
constexpr Code kBasicCareLevel[] = {{"01", "非該当"},   {"12", "要支援１"}, {"13", "要支援２"},
                                    {"21", "要介護１"}, {"22", "要介護２"}, {"23", "要介護３"},
                                    {"24", "要介護４"}, {"25", "要介護５"}};
constexpr Code kLivelihoodReason[] = {
    {"1", "一人暮らし"}, {"2", "家族等が障害、疾病等"}, {"3", "その他"}};
constexpr Code kInsuranceCovered[] = {{"Y", "対象"}, {"N", "対象外"}};
constexpr Code kSex[] = {{"1", "男性"}, {"2", "女性"}};
constexpr Code kFlag[] = {{"1", "該当"}, {"0", "非該当"}};
constexpr Code kWeekday[] = {{"1", "月曜日"}, {"2", "火曜日"}, {"3", "水曜日"}, {"4", "木曜日"},
                             {"5", "金曜日"}, {"6", "土曜日"}, {"7", "日曜日"}};
constexpr Code kPlanType[] = {{"1", "介護予防支援"}, {"2", "介護予防ケアマネジメント"}};
constexpr Code kEntrustment[] = {{"1", "自前"}, {"2", "委託"}};
constexpr Code kConsultMethod[] = {{"01", "来所"}, {"02", "電話"}, {"03", "その他"}};
constexpr Code kConsultCount[] = {{"01", "初回"}, {"02", "再来"}};
constexpr Code kPresentState[] = {{"01", "在宅"}, {"02", "入院又は入所中"}};
constexpr Code kElderlyIndependence[] = {{"01", "自立"}, {"11", "J1"}, {"12", "J2"},
                                         {"21", "A1"},   {"22", "A2"}, {"31", "B1"},
                                         {"32", "B2"},   {"41", "C1"}, {"42", "C2"}};
constexpr Code kDementiaIndependence[] = {{"01", "自立"}, {"02", "Ⅰ"},  {"03", "Ⅱa"}, {"04", "Ⅱb"},
                                          {"05", "Ⅲa"},   {"06", "Ⅲb"}, {"07", "Ⅳ"},  {"08", "M"}};
constexpr Code kChecklistResult[] = {{"1", "事業対象者の該当あり"}, {"2", "事業対象者の該当なし"}};
constexpr Code kResidence[] = {{"01", "自宅"},           {"02", "借家"},
                               {"03", "一戸建て"},       {"04", "集合住宅"},
                               {"05", "自宅・一戸建て"}, {"06", "自宅・集合住宅"},
                               {"07", "借家・一戸建て"}, {"08", "借家・集合住宅"}};
constexpr Code kYesNo[] = {{"1", "有"}, {"2", "無"}};
constexpr Code kNeed[] = {{"1", "要"}, {"2", "否"}};
constexpr Code kDoctorFlag[] = {{"1", "主治医"}, {"2", "それ以外"}};
constexpr Code kCourse[] = {{"01", "治療中"}, {"02", "経過観察中"}, {"03", "その他"}};
// 要支援状態区分 of 介護予防サービス・支援計画書: a code set of its own.
constexpr Code kSupportLevel[] = {{"1", "要支援１"}, {"2", "要支援２"}, {"3", "地域支援事業"}};

#define KAIGO_TABLE(name, title, array) \
  CodeTable { name, title, array, sizeof array / sizeof array[0] }

const CodeTable kTables[] = {
    KAIGO_TABLE("plan_category", "計画書区分", kPlanCategory),
    KAIGO_TABLE("certification_status", "認定状況区分", kCertificationStatus),
    KAIGO_TABLE("care_level", "要介護状態区分", kCareLevel),
    KAIGO_TABLE("basic_care_level", "要介護状態区分（利用者基本情報）", kBasicCareLevel),
    KAIGO_TABLE("livelihood_reason", "生活援助中心型の算定理由", kLivelihoodReason),
    KAIGO_TABLE("insurance_covered", "保険対象区分", kInsuranceCovered),
    KAIGO_TABLE("sex", "性別", kSex),
    KAIGO_TABLE("flag", "該当／非該当", kFlag),
    KAIGO_TABLE("weekday", "曜日", kWeekday),
    KAIGO_TABLE("plan_type", "計画種類", kPlanType),
    KAIGO_TABLE("entrustment", "委託の有無", kEntrustment),
    KAIGO_TABLE("consult_method", "相談方法", kConsultMethod),
    KAIGO_TABLE("consult_count", "相談回数", kConsultCount),
    KAIGO_TABLE("present_state", "利用者の現況", kPresentState),
    KAIGO_TABLE("elderly_independence", "障害高齢者の日常生活自立度", kElderlyIndependence),
    KAIGO_TABLE("dementia_independence", "認知症高齢者の日常生活自立度", kDementiaIndependence),
    KAIGO_TABLE("checklist_result", "基本チェックリスト記入結果", kChecklistResult),
    KAIGO_TABLE("residence", "居住形態", kResidence),
    KAIGO_TABLE("yes_no", "有無", kYesNo),
    KAIGO_TABLE("need", "要否", kNeed),
    KAIGO_TABLE("doctor_flag", "主治医・意見作成者フラグ", kDoctorFlag),
    KAIGO_TABLE("course", "経過", kCourse),
    KAIGO_TABLE("support_level", "要支援状態区分", kSupportLevel),
};

#undef KAIGO_TABLE

// §2 of the reference, and identifiers-and-codes.md §8.
constexpr absl::string_view kExchanged[] = {
    "11", "12", "13", "14", "15", "16", "17", "21", "22", "23", "2A", "31", "71", "76", "72",
    "78", "73", "68", "77", "79", "27", "28", "38", "62", "63", "64", "66", "67", "24", "25",
    "26", "2B", "34", "74", "75", "69", "39", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"};
constexpr absl::string_view kNotExchanged[] = {"33", "36", "32", "41", "42", "51", "52", "53", "54",
                                               "59", "81", "35", "37", "44", "45", "43", "46"};

}  // namespace

const CodeTable* FindCodeTable(absl::string_view name) {
  for (const CodeTable& t : kTables) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

absl::string_view CodeLabel(const CodeTable& table, absl::string_view value) {
  for (size_t i = 0; i < table.size; ++i) {
    if (table.codes[i].value == value) return table.codes[i].label;
  }
  return {};
}

std::string CodeList(const CodeTable& table) {
  std::string out;
  for (size_t i = 0; i < table.size; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", table.codes[i].value, " ", table.codes[i].label);
  }
  return out;
}

namespace {

// サービス種類コード are two of 0-9 A-Z: a table of 36 × 36 answers, built once.
int CodeIndex(absl::string_view code) {
  auto one = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'Z' ? c - 'A' + 10 : -1;
  };
  if (code.size() != 2) return -1;
  int a = one(code[0]), b = one(code[1]);
  return a < 0 || b < 0 ? -1 : a * 36 + b;
}

enum : uint8_t { kKnownBit = 1, kExchangedBit = 2 };

const uint8_t* ServiceTypeTable() {
  static const uint8_t* table = [] {
    auto* t = new uint8_t[36 * 36]();
    for (absl::string_view c : kExchanged) t[CodeIndex(c)] = kKnownBit | kExchangedBit;
    for (absl::string_view c : kNotExchanged) t[CodeIndex(c)] = kKnownBit;
    return t;
  }();
  return table;
}

}  // namespace

bool IsExchangedServiceType(absl::string_view code) {
  int i = CodeIndex(code);
  return i >= 0 && (ServiceTypeTable()[i] & kExchangedBit) != 0;
}

bool IsKnownServiceType(absl::string_view code) {
  int i = CodeIndex(code);
  return i >= 0 && (ServiceTypeTable()[i] & kKnownBit) != 0;
}

}  // namespace kaigo::careplan

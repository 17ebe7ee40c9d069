// The code tables the layouts refer to by name (LAYOUT41 【コード表】 and the layouts' 書式 column;
// shared/reference/careplan-csv-4.1.md §8.9, §9) and the サービス種類コード in scope of the
// exchange (§2). Constant data; thread-safe.
#ifndef KAIGO_CAREPLAN_CODE_TABLES_H_
#define KAIGO_CAREPLAN_CODE_TABLES_H_

#include "absl/strings/string_view.h"

namespace kaigo::careplan {

struct Code {
  absl::string_view value;
  absl::string_view label;
};

struct CodeTable {
  absl::string_view name;   // as in the (item) option's `codes`
  absl::string_view title;  // Japanese, for messages
  const Code* codes;
  size_t size;
};

// Null when no table has that name (a layout error, caught by the layout test).
const CodeTable* FindCodeTable(absl::string_view name);
// The label of `value`, or empty when the table does not have it.
absl::string_view CodeLabel(const CodeTable& table, absl::string_view value);
// "11 初回, 12 紹介, …" for messages.
std::string CodeList(const CodeTable& table);

// サービス種類コード known to the standard (in scope or not).
bool IsKnownServiceType(absl::string_view code);
// In scope of ケアプランデータ連携: rows of other types are not exchanged (§2).
bool IsExchangedServiceType(absl::string_view code);

}  // namespace kaigo::careplan

#endif  // KAIGO_CAREPLAN_CODE_TABLES_H_

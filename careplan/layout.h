// The record layouts, read once from the `(kaigo.options.v1.kaigo_field).item` options of
// kaigo/careplan/v1/care_plan.proto, and
// the CSVバージョン values (shared/reference/careplan-csv-4.1.md §1, §8). Built on first use;
// thread-safe; the returned pointers live for the process.
#ifndef KAIGO_CAREPLAN_LAYOUT_H_
#define KAIGO_CAREPLAN_LAYOUT_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "careplan/code_tables.h"
#include "careplan/file_kinds.h"
#include "google/protobuf/descriptor.h"
#include "kaigo/careplan/v1/care_plan.pb.h"
#include "kaigo/options/v1/options.pb.h"

namespace kaigo::careplan {

// An item's metadata (its form, length, …), as the record fields' options carry it.
using CarePlanItem = ::kaigo::options::v1::CarePlanItem;

// The version this library writes (4.1). 4.1 set the value to the month 4.0 was issued.
inline constexpr absl::string_view kWrittenVersion = "202407";

enum class VersionKind {
  kCurrent,      // 202407 (4.1)
  kVersion40,    // 202504 (4.0): the 4.1 layouts
  kNonStandard,  // 202410: written by some public code for 4.1; read as 4.1 with a warning
  kBefore40,  // 201910, 202003, 202208: no 第3表, no 介護予防 files, 第6/7表 without TAIS items
  kUnknown,
};
VersionKind ClassifyVersion(absl::string_view version);

struct Column {
  int number = 0;  // the item's No.
  const google::protobuf::FieldDescriptor* field = nullptr;
  const CarePlanItem* item = nullptr;
  const CodeTable* codes = nullptr;  // FORM_CODE items
  // Copied from `item`, beside the rest, for the validator's loop over every field.
  CarePlanItem::Form form = CarePlanItem::FORM_UNSPECIFIED;
  int length = 0;
  bool required = false;
  // Worth remembering the last value that passed (check digits, code tables, key items, dates):
  // they repeat row after row, and comparing is cheaper than checking again.
  bool remembered = false;
};

struct Layout {
  const KindInfo* kind = nullptr;
  const google::protobuf::Descriptor* record = nullptr;
  const google::protobuf::FieldDescriptor* list = nullptr;  // in CarePlanFile
  std::vector<Column> columns;                              // 4.0 and 4.1, by No.
  std::vector<Column> before40_columns;                     // empty for kinds that 4.0 introduced
  // Items whose blank repeats the previous row's value (第2表, UPYOBO_SUB).
  bool has_repeats = false;

  const std::vector<Column>& ForVersion(VersionKind version) const {
    return version == VersionKind::kBefore40 && !before40_columns.empty() ? before40_columns
                                                                          : columns;
  }
  const Column* ByNumber(int number) const {
    return number >= 1 && number <= static_cast<int>(columns.size()) ? &columns[number - 1]
                                                                     : nullptr;
  }
};

// Null for the family image, which has no records.
const Layout* LayoutFor(FileKind kind);

}  // namespace kaigo::careplan

#endif  // KAIGO_CAREPLAN_LAYOUT_H_

// The file kinds of the 4.1 standard: prefix, direction, whether the name carries a month, and
// which list of CarePlanFile holds their records (shared/reference/careplan-csv-4.1.md §3–4).
// Constant data; thread-safe.
#ifndef KAIGO_CAREPLAN_FILE_KINDS_H_
#define KAIGO_CAREPLAN_FILE_KINDS_H_

#include "absl/strings/string_view.h"
#include "kaigo/careplan/v1/care_plan.pb.h"

namespace kaigo::careplan {

using v1::FileKind;

// Who sends a kind: the care manager's office (居宅介護支援 43 / 介護予防支援 46,
// 地域包括支援センター) to the service office, or the service office back.
enum class Direction { kToServiceOffice, kToCareManager };

struct KindInfo {
  FileKind kind;
  absl::string_view prefix;  // UPPLAN, UPKIHON_SUB1, …
  absl::string_view title;   // the standard's ファイル名称
  Direction direction;
  bool month_in_name;  // _YYYYMM after the prefix
  bool prevention;  // 介護予防 (地域包括支援センター等 ⇄ 介護予防・総合事業事業所)
  FileKind deletes = v1::FILE_KIND_UNSPECIFIED;  // for 削除 kinds: the parent kind they delete
};

// Every kind, in the standard's order. Never null entries.
const KindInfo* AllKinds(size_t* count);
const KindInfo* FindKind(FileKind kind);
const KindInfo* FindKindByPrefix(absl::string_view prefix);

// The care manager's side sends with these service types in the file name.
bool IsCareManagerServiceType(absl::string_view service_type);

}  // namespace kaigo::careplan

#endif  // KAIGO_CAREPLAN_FILE_KINDS_H_

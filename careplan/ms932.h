// MS932 (Windows-31J, the standard's Shift_JIS) bytes: a fast well-formedness scan for the
// validator, and conversion to and from UTF-8 (glibc iconv "CP932") for the typed form.
// Thread-safe (conversion handles are per thread).
#ifndef KAIGO_CAREPLAN_MS932_H_
#define KAIGO_CAREPLAN_MS932_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kaigo::careplan {

enum class Ms932Issue {
  kNone,
  kInvalid,    // not an MS932 sequence (a stray lead or trail byte, an unassigned row)
  kGaiji,      // 外字 (user-defined area, lead bytes F0–F9): forbidden by the standard
  kDuplicate,  // a character MS932 has twice (NEC-selected IBM extensions, NEC row 13 and IBM
               // duplicates): it does not survive a round trip through Unicode unchanged
};

struct Ms932Scan {
  Ms932Issue issue = Ms932Issue::kNone;
  size_t offset = 0;  // of the offending character
};

// The first issue in `bytes`, kInvalid and kGaiji before kDuplicate. One pass; whether a
// character is a duplicate comes from a table worked out once per process with iconv.
Ms932Scan ScanMs932(absl::string_view bytes);

// True when every byte is ASCII (the non-text items must be).
bool IsAscii(absl::string_view bytes);

absl::StatusOr<std::string> Ms932ToUtf8(absl::string_view bytes);
// INVALID_ARGUMENT names the first character without an MS932 form, e.g. "U+20BB7 (𠮷)".
absl::StatusOr<std::string> Utf8ToMs932(absl::string_view text);

}  // namespace kaigo::careplan

#endif  // KAIGO_CAREPLAN_MS932_H_

// Writes a typed CarePlanFile in the standard's form: the 4.1 layout with CSVバージョン 202407,
// free text in double quotes (doubled inside) and MS932, other items as they are, the file's line
// ending after every record (unless the last was unterminated when read). A file read from valid
// 4.1 bytes is written back byte for byte. Pure function; thread-safe.
#ifndef KAIGO_CAREPLAN_CARE_PLAN_WRITER_H_
#define KAIGO_CAREPLAN_CARE_PLAN_WRITER_H_

#include <string>

#include "absl/status/statusor.h"
#include "kaigo/careplan/v1/care_plan.pb.h"

namespace kaigo::careplan {

// The file's bytes (for a family image, the image). INVALID_ARGUMENT names the row (1-based),
// the item and the character that has no MS932 form, or a non-text item that is not ASCII or
// holds a comma, quote or line break (only free text is quoted).
// Values are not validated here: validate the result (ReadCarePlanFile, strict) before sending.
absl::StatusOr<std::string> WriteCarePlanFile(const v1::CarePlanFile& file);

}  // namespace kaigo::careplan

#endif  // KAIGO_CAREPLAN_CARE_PLAN_WRITER_H_

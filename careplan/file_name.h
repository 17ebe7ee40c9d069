// File names of the 4.1 standard, parsed and built (shared/reference/careplan-csv-4.1.md §4):
//
//   <PREFIX>[_<YYYYMM>]_<from office>_<from type>_<to office>_<to type>_<YYYYMMDDHHMMSS>.CSV
//   UPKIHON_IMAGE_<from office>_<from type>_<to office>_<to type>_<YYYYMMDDHHMMSS>_<NNNN>.jpg
//
// and the older form without the two service-type segments, e.g.
// UPPLAN_201912_0300000100_0300000005_20191025200201.CSV. Office numbers are checked for form
// here, not for their check digit (the standard's own examples fail it): the validator reports
// that. Pure functions; thread-safe.
#ifndef KAIGO_CAREPLAN_FILE_NAME_H_
#define KAIGO_CAREPLAN_FILE_NAME_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kaigo/careplan/v1/care_plan.pb.h"

namespace kaigo::careplan {

// INVALID_ARGUMENT names the segment and the rule, e.g.
// "file name UPPLAN_2019_…: 対象年月 must be 6 digits (YYYYMM), got \"2019\"".
absl::StatusOr<v1::FileName> ParseFileName(absl::string_view name);

// The name in the form `name.older_form` says; extension "CSV" (or "jpg") when empty.
std::string FormatFileName(const v1::FileName& name);

}  // namespace kaigo::careplan

#endif  // KAIGO_CAREPLAN_FILE_NAME_H_

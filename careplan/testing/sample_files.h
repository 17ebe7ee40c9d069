// Valid 4.1 files of every kind for tests, benchmarks and the demo, built from the layouts: each
// item gets a value of its form, with free text that exercises the syntax (commas, doubled
// quotes, line breaks, NEC row 13 and half-width katakana). Not for production use.
#ifndef KAIGO_CAREPLAN_TESTING_SAMPLE_FILES_H_
#define KAIGO_CAREPLAN_TESTING_SAMPLE_FILES_H_

#include <string>

#include "absl/strings/string_view.h"
#include "kaigo/careplan/v1/care_plan.pb.h"

namespace kaigo::careplan::testing {

// さくら居宅介護支援事業所 (43) and ひまわり訪問介護 (11) of the sandbox seed: valid check digits.
inline constexpr absl::string_view kCareManagerOffice = "1371000017";
inline constexpr absl::string_view kServiceOffice = "1371000025";

struct SampleOptions {
  int recipients = 2;          // users in the file
  int rows_per_recipient = 3;  // rows per user where a kind has several
  std::string month = "202611";
  std::string sequence = "20261124100000";
  v1::LineEnding line_ending = v1::LINE_ENDING_CRLF;
};

// The file's standard name (care manager → service office, 実績 the other way).
v1::FileName SampleName(v1::FileKind kind, const SampleOptions& options);
// The file, typed; WriteCarePlanFile gives its bytes.
v1::CarePlanFile SampleFile(v1::FileKind kind, const SampleOptions& options);
// The bytes of SampleFile (aborts if the library cannot write them: a bug).
std::string SampleBytes(v1::FileKind kind, const SampleOptions& options);

}  // namespace kaigo::careplan::testing

#endif  // KAIGO_CAREPLAN_TESTING_SAMPLE_FILES_H_

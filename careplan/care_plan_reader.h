// Reads one care-plan file — name and MS932 bytes — against the 4.1 standard: every finding with
// file, line, item No., item name and the rule broken, and, when asked and nothing is wrong, the
// typed CarePlanFile.
//
//   ReadOptions options;
//   options.mode = Mode::kTolerant;  // an importer
//   ReadResult r = ReadCarePlanFile(name, bytes, options);
//   for (const auto& f : r.findings) std::cerr << FormatFinding(f) << "\n";
//   if (!r.has_errors()) Import(r.file);
//
// Strict mode is for senders: whatever the standard does not define is an error. Tolerant mode is
// for importers: where the standard or common practice allows (a byte-order mark, a header row,
// quoting, older CSV versions and file names, a failed check digit — validators warn, never
// correct), it warns and carries on. Pure function; thread-safe.
#ifndef KAIGO_CAREPLAN_CARE_PLAN_READER_H_
#define KAIGO_CAREPLAN_CARE_PLAN_READER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "careplan/csv_reader.h"
#include "kaigo/careplan/v1/care_plan.pb.h"

namespace kaigo::careplan {

enum class Mode { kStrict, kTolerant };

struct ReadOptions {
  Mode mode = Mode::kTolerant;
  // Build ReadResult::file (free text converted to UTF-8). Off for validation alone.
  bool typed = true;
  // Fill the blanks that repeat the previous row (第2表, UPYOBO_SUB) in the typed file.
  bool resolve_repeats = false;
  // Findings kept per file; the rest are counted in one last finding.
  size_t max_findings = 200;
  // What one file may make the reader hold; past a limit, reading stops with one error finding
  // of rule max_fields, max_records or max_issues, kept whatever max_findings says.
  CsvLimits limits;
};

struct ReadResult {
  v1::CarePlanFile file;  // set when options.typed and there is no error
  std::vector<v1::Finding> findings;
  int records = 0;
  bool has_errors() const;
};

ReadResult ReadCarePlanFile(absl::string_view name, absl::string_view bytes,
                            const ReadOptions& options);

struct FileInput {
  absl::string_view name;
  absl::string_view bytes;
};

// ReadCarePlanFile of each file, on up to `threads` threads (files are independent; a send unit
// or a month's export is several); the results in the order of `files`.
std::vector<ReadResult> ReadCarePlanFiles(const std::vector<FileInput>& files,
                                          const ReadOptions& options, int threads);

// "UPPLAN_….CSV:3: item 15 サービスコード: error [code]: …"
std::string FormatFinding(const v1::Finding& finding);

}  // namespace kaigo::careplan

#endif  // KAIGO_CAREPLAN_CARE_PLAN_READER_H_

// bench_careplan: parse + validate throughput of the care-plan CSV 4.1 reader on valid 第6表
// (UPPLAN) and 第7表 (UPSIKYU) files, against Python 3's csv module reading the same files.
//
// Writes 16 files (8 of each kind, ≈ 3.5 MB each, > 50 MB in all) made by SampleBytes into a temp
// dir, then times ReadCarePlanFiles over the bytes of all of them, strict mode:
//   - typed=false on every core (files in parallel, as Validate and kaigo-careplan do): the
//     headline figure; the same on one thread beside it;
//   - typed=true: validation plus the typed CarePlanFile with free text converted to UTF-8.
// Every file must come back without a finding, or the bench aborts: a benchmark of a failing
// validator is meaningless. The files are read into memory before timing, so the figures are the
// library's alone. The peer, run by popen in the same run: python3 (the csv module, C
// implementation) opening each file with encoding='cp932', newline='' and iterating all rows —
// tokenising and decoding only, no validation — timed in Python around open + iterate.
// Best of 5 for each; MB = 1e6 bytes. Prints the figures, then:
//   RESULT mb_per_s=<x> vs_python=<x / z> single_thread_mb_per_s=<s> threads=<t>
//          typed_mb_per_s=<y> python_mb_per_s=<z> single_thread_vs_python=<s / z> bytes=<n>
// vs_python is the every-core figure over Python's, which runs on one core: a ratio of
// throughputs, not of per-core speed; single_thread_vs_python is the per-core one (and Python
// only tokenises and decodes, where the reader also validates).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "careplan/care_plan_reader.h"
#include "careplan/file_name.h"
#include "careplan/testing/sample_files.h"
#include "tests/support/test_env.h"

namespace {

namespace v1 = kaigo::careplan::v1;
using kaigo::careplan::ReadCarePlanFile;
using kaigo::careplan::ReadOptions;
using kaigo::careplan::testing::SampleBytes;
using kaigo::careplan::testing::SampleName;
using kaigo::careplan::testing::SampleOptions;

constexpr int kFilesPerKind = 8;
constexpr size_t kBytesPerFile = 3'500'000;
// Best of 5 on both sides: this machine is shared, and the best run is the one least disturbed.
constexpr int kRuns = 5;

struct SampleFileOnDisk {
  std::string name;  // the standard's file name
  std::string path;
  std::string bytes;
};

// The files' directory, removed by Fail too (exit skips the TempDir's destructor).
std::string files_dir;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "bench_careplan: %s\n", what.c_str());
  if (!files_dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(files_dir, ignored);
  }
  std::exit(1);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Recipients so that one file of `kind` is about kBytesPerFile, measured on a small file.
int RecipientsFor(v1::FileKind kind, SampleOptions o) {
  o.recipients = 20;
  double per_recipient = static_cast<double>(SampleBytes(kind, o).size()) / o.recipients;
  return std::max(1, static_cast<int>(kBytesPerFile / per_recipient));
}

// Best of kRuns: seconds to read every file with `options` on `threads` threads (files in
// parallel, as Validate and kaigo-careplan do); aborts on any finding.
double TimeReader(const std::vector<SampleFileOnDisk>& files, const ReadOptions& options,
                  int threads, int* records) {
  std::vector<kaigo::careplan::FileInput> inputs;
  for (const SampleFileOnDisk& f : files) inputs.push_back({f.name, f.bytes});
  double best = 1e30;
  for (int run = 0; run < kRuns; ++run) {
    *records = 0;
    auto start = std::chrono::steady_clock::now();
    std::vector<kaigo::careplan::ReadResult> results =
        kaigo::careplan::ReadCarePlanFiles(inputs, options, threads);
    double seconds = Seconds(start);
    for (size_t i = 0; i < results.size(); ++i) {
      const kaigo::careplan::ReadResult& r = results[i];
      if (!r.findings.empty()) {
        Fail(files[i].name + " (typed=" + (options.typed ? "true" : "false") +
             "): " + kaigo::careplan::FormatFinding(r.findings[0]) + " … (" +
             std::to_string(r.findings.size()) + " findings)");
      }
      if (options.typed && r.file.name().kind() == v1::FILE_KIND_UNSPECIFIED) {
        Fail(files[i].name + ": no typed file");
      }
      *records += r.records;
    }
    best = std::min(best, seconds);
  }
  return best;
}

// The peer: python3's csv module over the same files, best of kRuns, in seconds.
constexpr char kPythonScript[] = R"PY(
import csv, sys, time
paths = sys.argv[1:]
best = None
rows = 0
for run in range(3):
    rows = 0
    start = time.perf_counter()
    for path in paths:
        with open(path, encoding="cp932", newline="") as f:
            for row in csv.reader(f):
                rows += 1
    elapsed = time.perf_counter() - start
    best = elapsed if best is None else min(best, elapsed)
print("python", sys.version.split()[0], "rows", rows, "seconds", repr(best))
)PY";

double TimePython(const std::vector<SampleFileOnDisk>& files, int* rows, std::string* version) {
  // Debian's own python3 when it is there (a PATH python3 may be a pyenv shim). The script has
  // no single quote, so it goes to -c as it is.
  std::string python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  std::string command = python + " -c '" + kPythonScript + "'";
  for (const SampleFileOnDisk& f : files) command += " " + f.path;
  kaigo::testing::CommandResult r = kaigo::testing::RunCommand(command);
  char v[32] = {0};
  double seconds = 0;
  if (r.exit_code != 0 ||
      std::sscanf(r.output.c_str(), "python %31s rows %d seconds %lf", v, rows, &seconds) != 3 ||
      seconds <= 0) {
    Fail("python3 peer failed (exit " + std::to_string(r.exit_code) + "): " + r.output);
  }
  *version = v;
  return seconds;
}

}  // namespace

int main() {
  kaigo::testing::TempDir dir;
  files_dir = dir.path();
  std::vector<SampleFileOnDisk> files;
  size_t total = 0;
  auto gen_start = std::chrono::steady_clock::now();
  struct KindPlan {
    v1::FileKind kind;
    int rows_per_recipient;
  };
  // A month of visits on the 利用票, a few service lines (plus subtotal and total) on the 別表.
  for (KindPlan plan : {KindPlan{v1::FILE_KIND_UPPLAN, 20}, KindPlan{v1::FILE_KIND_UPSIKYU, 8}}) {
    SampleOptions o;
    o.rows_per_recipient = plan.rows_per_recipient;
    o.recipients = RecipientsFor(plan.kind, o);
    for (int i = 0; i < kFilesPerKind; ++i) {
      char sequence[16];
      std::snprintf(sequence, sizeof sequence, "202611241000%02d", i);
      o.sequence = sequence;
      SampleFileOnDisk f;
      f.name = kaigo::careplan::FormatFileName(SampleName(plan.kind, o));
      f.bytes = SampleBytes(plan.kind, o);
      f.path = dir.Write(f.name, f.bytes);
      total += f.bytes.size();
      files.push_back(std::move(f));
    }
    std::printf(
        "%-8s %d files of %d recipients × %d rows, %.2f MB each\n",
        plan.kind == v1::FILE_KIND_UPPLAN ? "UPPLAN" : "UPSIKYU", kFilesPerKind, o.recipients,
        plan.kind == v1::FILE_KIND_UPSIKYU ? o.rows_per_recipient + 2 : o.rows_per_recipient,
        files.back().bytes.size() / 1e6);
  }
  std::printf("%zu files, %.1f MB written in %.1f s\n", files.size(), total / 1e6,
              Seconds(gen_start));
  if (total < 50'000'000) Fail("less than 50 MB of files");

  ReadOptions validate;
  validate.mode = kaigo::careplan::Mode::kStrict;
  validate.typed = false;
  ReadOptions typed = validate;
  typed.typed = true;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int records = 0, single_records = 0, typed_records = 0, python_rows = 0;
  double single_s = TimeReader(files, validate, 1, &single_records);
  double validate_s = TimeReader(files, validate, threads, &records);
  double typed_s = TimeReader(files, typed, threads, &typed_records);
  std::string python_version;
  double python_s = TimePython(files, &python_rows, &python_version);
  if (typed_records != records || single_records != records || python_rows != records) {
    Fail("record counts differ: validate " + std::to_string(records) + ", typed " +
         std::to_string(typed_records) + ", python " + std::to_string(python_rows));
  }

  double mb = total / 1e6;
  double validate_mbs = mb / validate_s, typed_mbs = mb / typed_s, python_mbs = mb / python_s;
  double single_mbs = mb / single_s;
  std::printf("\n%-48s %9s %9s %11s\n", "best of 5, strict mode, no findings", "seconds", "MB/s",
              "records/s");
  std::printf("%-48s %9.3f %9.1f %11.0f\n", "validate (typed=false), 1 thread", single_s,
              single_mbs, records / single_s);
  std::string all = absl::StrCat("validate (typed=false), ", threads, " threads");
  std::printf("%-48s %9.3f %9.1f %11.0f\n", all.c_str(), validate_s, validate_mbs,
              records / validate_s);
  std::printf("%-48s %9.3f %9.1f %11.0f\n", "validate + typed file (typed=true), all threads",
              typed_s, typed_mbs, records / typed_s);
  std::string peer = "python " + python_version + " csv.reader, cp932 (no checks)";
  std::printf("%-48s %9.3f %9.1f %11.0f\n", peer.c_str(), python_s, python_mbs,
              python_rows / python_s);
  std::printf("%d records in %.1f MB\n", records, mb);
  std::printf(
      "RESULT mb_per_s=%.1f vs_python=%.2f single_thread_mb_per_s=%.1f threads=%d "
      "typed_mb_per_s=%.1f python_mb_per_s=%.1f single_thread_vs_python=%.2f bytes=%zu\n",
      validate_mbs, validate_mbs / python_mbs, single_mbs, threads, typed_mbs, python_mbs,
      single_mbs / python_mbs, total);
  return 0;
}

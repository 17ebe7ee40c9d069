// bench_store: what SQLite's synchronous=FULL (the desk default: a write survives a power cut)
// costs against NORMAL (survives a process kill only), through the engine's own store.
//
// For each mode, a fresh database file in a temp directory (on the machine's disk, not tmpfs):
// 2000 plugin store writes of 2 KiB (about a subsidy draft) one after another, then 500 audit
// appends (each a transaction reading the chain's head), single-threaded as a plugin's calls reach
// the store; each call timed. Three rounds, modes alternating; figures from the round with the
// median write rate. Prints the figures, then:
//   RESULT normal_put_per_s=<n> full_put_per_s=<f> normal_put_p50_us=<> full_put_p50_us=<>
//          normal_put_p99_us=<> full_put_p99_us=<> full_put_cost=<f/n p50 ratio>
//          normal_audit_p50_us=<> full_audit_p50_us=<>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/store/store.h"
#include "latency_summary.h"
#include "tests/support/test_env.h"

namespace {

using kaigo::bench::Figures;
using kaigo::bench::Summarize;

constexpr int kPuts = 2000;
constexpr int kAudits = 500;
constexpr int kRounds = 3;

struct Run {
  Figures put;
  Figures audit;
};

double Micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

Run Measure(bool full_sync, int round) {
  kaigo::testing::TempDir dir;
  kaigo::engine::SqliteOptions options;
  options.full_sync = full_sync;
  kaigo::engine::AuditKeyring keys;
  keys.signing_id = "bench";
  keys.secrets["bench"] = std::string(32, 'k');
  auto store = kaigo::engine::OpenSqliteStore(dir.path() + "/state.db", keys, options);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(store.status().message()).c_str());
    std::exit(1);
  }
  std::string value(2048, 'x');
  Run run;
  std::vector<double> latencies;
  int64_t failed = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kPuts; ++i) {
    value[i % value.size()] = static_cast<char>('a' + i % 26);
    auto t = std::chrono::steady_clock::now();
    failed += !(*store)
                   ->Put("subsidy_filing", "1371000017", absl::StrCat("app/", round, "-", i), value)
                   .ok();
    latencies.push_back(Micros(std::chrono::steady_clock::now() - t));
  }
  run.put = Summarize(latencies, Micros(std::chrono::steady_clock::now() - start) / 1e6, failed);
  latencies.clear();
  failed = 0;
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < kAudits; ++i) {
    kaigo::engine::AuditRecord r;
    r.time_ms = i;
    r.caller = "bench";
    r.office = "1371000017";
    r.plugin = "subsidy_filing";
    r.action = "/kaigo.v1.SubsidyService/SubmitApplication";
    r.subject_ref = absl::StrCat("app-", i);
    auto t = std::chrono::steady_clock::now();
    failed += !(*store)->AppendAudit(r).ok();
    latencies.push_back(Micros(std::chrono::steady_clock::now() - t));
  }
  run.audit = Summarize(latencies, Micros(std::chrono::steady_clock::now() - start) / 1e6, failed);
  return run;
}

Run Median(std::vector<Run> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const Run& a, const Run& b) { return a.put.calls_per_s < b.put.calls_per_s; });
  return runs[runs.size() / 2];
}

}  // namespace

int main() {
  std::vector<Run> normal, full;
  for (int round = 0; round < kRounds; ++round) {
    normal.push_back(Measure(false, round));
    full.push_back(Measure(true, round));
  }
  Run n = Median(normal), f = Median(full);
  if (n.put.failed + f.put.failed + n.audit.failed + f.audit.failed > 0) {
    std::fprintf(stderr, "some store calls failed\n");
    return 1;
  }
  for (const auto& [name, run] : {std::pair<const char*, Run>{"NORMAL", n}, {"FULL", f}}) {
    std::printf(
        "synchronous=%-6s put: %8.0f/s  p50 %7.1f us  p99 %7.1f us   audit append: p50 %7.1f us  "
        "p99 %7.1f us\n",
        name, run.put.calls_per_s, run.put.p50_us, run.put.p99_us, run.audit.p50_us,
        run.audit.p99_us);
  }
  double cost = n.put.p50_us > 0 ? f.put.p50_us / n.put.p50_us : 0;
  std::printf("FULL costs %.1fx NORMAL's median write latency (%d writes of 2 KiB, median of %d)\n",
              cost, kPuts, kRounds);
  std::printf(
      "RESULT normal_put_per_s=%.0f full_put_per_s=%.0f normal_put_p50_us=%.1f "
      "full_put_p50_us=%.1f normal_put_p99_us=%.1f full_put_p99_us=%.1f full_put_cost=%.2f "
      "normal_audit_p50_us=%.1f full_audit_p50_us=%.1f\n",
      n.put.calls_per_s, f.put.calls_per_s, n.put.p50_us, f.put.p50_us, n.put.p99_us, f.put.p99_us,
      cost, n.audit.p50_us, f.audit.p50_us);
  return 0;
}

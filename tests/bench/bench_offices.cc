// bench_offices: the engine with 100, 1,000 and 10,000 configured offices, each with the
// qualification concern against the sandbox (every office presents さくら's certificate and web
// user, which the sandbox accepts; the engine does not know). For each size: wall time from start
// to serving (ready file), resident memory once serving and after a warm-up, and lookups per
// second with 16 callers (cache off, so every lookup reaches the sandbox) over the same 100 busy
// offices at every size — what routing among more configured offices costs — and, apart, spread
// over every office, where most calls meet an office's first login and TLS handshake. Last line:
//   RESULT start_s_10k=<s> rss_kb_per_office=<marginal KB per office, 100 → 10k>
//          lookups_per_s_10k=<busy set> lookups_ratio_10k_vs_100=<x> spread_lookups_per_s_10k=<n>
// Targets (issue 8): start < 2 s and < 50 KB per office at 10,000; throughput within 10 % of 100.
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kaigo/v1/qualification.grpc.pb.h"
#include "load_driver.h"
#include "tests/support/test_env.h"

namespace {

namespace v1 = kaigo::v1;
using namespace kaigo::testing;

long RssKb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

struct Run {
  double start_s = 0;
  long rss_ready_kb = 0;
  long rss_warm_kb = 0;
  double lookups_per_s = 0;  // over the 100 busy offices
  double p99_ms = 0;
  double spread_per_s = 0;  // over every office
  int64_t failed = 0;
};

std::vector<std::string> Offices(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(Office(absl::StrCat("13", 1000000 + i)));
  return out;
}

Run Measure(const SandboxProcess& sandbox, const TempDir& dir, int n) {
  std::string secrets = dir.path();
  std::string yaml = absl::StrCat(
      "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\nplugins:\n"
      "  - {name: qualification, path: ",
      PluginDir(), "/qualification.so}\n", "store:\n  sqlite_path: state-", n,
      ".db\nlog:\n  level: warn\noffices:\n");
  for (const auto& office : Offices(n)) {
    absl::StrAppend(
        &yaml, "  - number: \"", office, "\"\n    concerns:\n",
        "      - service: kaigo.v1.QualificationService\n        plugin: qualification\n",
        "        settings: {platform: {base_url: \"", sandbox.base_url(),
        "\", ca_secret: ca, certificate_secret: p12, certificate_password_secret: p12pw, "
        "user_id_secret: user, password_secret: pw, max_attempts: 2}}\n",
        "    secrets:\n      - {name: ca, ref: {file: ", sandbox.dir(), "/ca.crt}}\n",
        "      - {name: p12, ref: {file: ", sandbox.dir(), "/office-1371000017.p12}}\n",
        "      - {name: p12pw, ref: {file: ", secrets, "/p12pw}}\n",
        "      - {name: user, ref: {file: ", secrets, "/user}}\n",
        "      - {name: pw, ref: {file: ", secrets, "/pw}}\n");
  }
  std::string config = dir.Write(absl::StrCat("engine-", n, ".yaml"), yaml);
  Run run;
  absl::Time t0 = absl::Now();
  auto engine = EngineProcess::Start(config, absl::Seconds(120));
  if (!engine.ok()) {
    fprintf(stderr, "bench_offices: %s\n", std::string(engine.status().message()).c_str());
    return run;
  }
  run.start_s = absl::ToDoubleSeconds(absl::Now() - t0);
  run.rss_ready_kb = RssKb((*engine)->pid());
  auto stub = v1::QualificationService::NewStub(InsecureChannel((*engine)->target()));
  std::vector<std::string> offices = Offices(n);
  auto lookup = [&](size_t office_count) {
    return [&, office_count](int i) {
      v1::LookupByInsuredNumberRequest req;
      req.mutable_insurer()->set_value("131011");
      req.mutable_insured()->set_value("0000100004");
      v1::LookupByInsuredNumberResponse result;
      // A prime stride visits every office of the set.
      const std::string& office = offices[(static_cast<size_t>(i) * 7919) % office_count];
      return stub->LookupByInsuredNumber(Context(office).get(), req, &result).ok();
    };
  };
  kaigo::bench::Drive(16, std::chrono::milliseconds(1500), lookup(100));  // their logins
  auto busy = kaigo::bench::Drive(16, std::chrono::milliseconds(3000), lookup(100));
  auto spread = kaigo::bench::Drive(16, std::chrono::milliseconds(3000), lookup(offices.size()));
  run.rss_warm_kb = RssKb((*engine)->pid());
  run.lookups_per_s = busy.calls_per_s;
  run.p99_ms = busy.p99_us / 1000;
  run.spread_per_s = spread.calls_per_s;
  run.failed = busy.failed + spread.failed;
  return run;
}

}  // namespace

int main() {
  auto sandbox = SandboxProcess::Start();
  if (!sandbox.ok()) {
    fprintf(stderr, "bench_offices: %s\n", std::string(sandbox.status().message()).c_str());
    return 1;
  }
  TempDir dir;
  dir.Write("p12pw", "sandbox\n");
  dir.Write("user", "sakura-cm\n");
  dir.Write("pw", "Sakura#2026\n");
  Run runs[3];
  int sizes[3] = {100, 1000, 10000};
  for (int i = 0; i < 3; ++i) {
    runs[i] = Measure(**sandbox, dir, sizes[i]);
    printf(
        "%6d offices: start %.2f s  RSS %ld KB ready, %ld KB warm  busy 100: %.0f lookups/s "
        "p99 %.1f ms  spread over all: %.0f lookups/s  (%lld failed)\n",
        sizes[i], runs[i].start_s, runs[i].rss_ready_kb, runs[i].rss_warm_kb, runs[i].lookups_per_s,
        runs[i].p99_ms, runs[i].spread_per_s, static_cast<long long>(runs[i].failed));
    fflush(stdout);
  }
  double per_office =
      static_cast<double>(runs[2].rss_warm_kb - runs[0].rss_warm_kb) / (sizes[2] - sizes[0]);
  double ratio = runs[0].lookups_per_s > 0 ? runs[2].lookups_per_s / runs[0].lookups_per_s : 0;
  printf(
      "RESULT start_s_10k=%.2f rss_kb_per_office=%.1f lookups_per_s_10k=%.0f "
      "lookups_ratio_10k_vs_100=%.3f spread_lookups_per_s_10k=%.0f\n",
      runs[2].start_s, per_office, runs[2].lookups_per_s, ratio, runs[2].spread_per_s);
  return 0;
}

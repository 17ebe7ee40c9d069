// What the benchmarks report about a run: calls per second and latency percentiles, from the
// latencies (µs) each call took and the run's length. Not thread-safe; sorts its input.
#ifndef KAIGO_TESTS_BENCH_LATENCY_SUMMARY_H_
#define KAIGO_TESTS_BENCH_LATENCY_SUMMARY_H_

#include <algorithm>
#include <cstdint>
#include <vector>

namespace kaigo::bench {

struct Figures {
  double calls_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  int64_t failed = 0;
  double switches_per_call = 0;  // filled by benchmarks that measure it
};

inline Figures Summarize(std::vector<double>& latencies_us, double seconds, int64_t failed) {
  Figures f;
  f.failed = failed;
  if (latencies_us.empty()) return f;
  std::sort(latencies_us.begin(), latencies_us.end());
  f.calls_per_s = latencies_us.size() / seconds;
  f.p50_us = latencies_us[latencies_us.size() / 2];
  f.p99_us = latencies_us[std::min(latencies_us.size() - 1, latencies_us.size() * 99 / 100)];
  return f;
}

}  // namespace kaigo::bench

#endif  // KAIGO_TESTS_BENCH_LATENCY_SUMMARY_H_

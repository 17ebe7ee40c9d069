// Load for benchmarks: `threads` callers, each calling `call(i)` in a loop for `duration`, their
// latencies summarised (latency_summary.h). Thread-safe as long as `call` is.
#ifndef KAIGO_TESTS_BENCH_LOAD_DRIVER_H_
#define KAIGO_TESTS_BENCH_LOAD_DRIVER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "latency_summary.h"

namespace kaigo::bench {

inline Figures Drive(int threads, std::chrono::milliseconds duration,
                     const std::function<bool(int)>& call) {
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<int64_t> failed{0};
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now(),
                                        end = start + duration;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<double> mine;
      for (int i = t; std::chrono::steady_clock::now() < end; i += threads) {
        auto begin = std::chrono::steady_clock::now();
        if (!call(i)) ++failed;
        mine.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - begin)
                .count());
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& w : workers) w.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Summarize(latencies, seconds, failed);
}

}  // namespace kaigo::bench

#endif  // KAIGO_TESTS_BENCH_LOAD_DRIVER_H_

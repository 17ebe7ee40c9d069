// Prometheus text metrics (exposition format 0.0.4, as `promtool check metrics` reads it): the
// build, the process, calls, errors and a latency histogram per (plugin, method), calls in flight,
// refused calls by code, and the counters plugins add through the host. Every family has HELP and
// TYPE and its series together.
//
// Thread-safe. Recording is lock-free (atomics on a per-method object the router resolves once);
// only creating a series and rendering take a lock.
#ifndef KAIGO_ENGINE_METRICS_METRICS_H_
#define KAIGO_ENGINE_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"

namespace kaigo::engine {

class MethodMetrics {
 public:
  static constexpr std::array<double, 14> kBucketsSeconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  void Record(int code, int64_t micros);
  // The kaigo_calls_total series and the kaigo_call_duration_seconds series: two families, which
  // the registry renders one after the other.
  void RenderCalls(const std::string& labels, std::string* out) const;
  void RenderDurations(const std::string& labels, std::string* out) const;

 private:
  std::array<std::atomic<uint64_t>, 17> codes_{};
  std::array<std::atomic<uint64_t>, kBucketsSeconds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_micros_{0};
};

class Metrics {
 public:
  // The series for (plugin, method); the pointer stays valid for the registry's life.
  MethodMetrics* ForMethod(const std::string& plugin, const std::string& method);
  void PluginCounterAdd(const std::string& plugin, const std::string& name, double delta);
  void CallRefused(int code);
  // An isolated plugin's child process was started again after it ended.
  void PluginRestarted(const std::string& plugin);
  std::atomic<int64_t>& in_flight() { return in_flight_; }
  // kaigo_audit_chain_length: the audit log's records, as `read` finds them at each scrape
  // (nullopt: the store cannot say; the series is left out). Set once, before rendering starts.
  void SetAuditChainLength(std::function<std::optional<int64_t>()> read) {
    audit_chain_length_ = std::move(read);
  }

  std::string Render();

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<MethodMetrics>> methods_;
  // By (family name, plugin): one family per counter name, whichever plugins add to it.
  std::map<std::pair<std::string, std::string>, double> plugin_counters_;
  std::map<std::string, uint64_t> restarts_;
  std::array<std::atomic<uint64_t>, 17> refused_{};
  std::atomic<int64_t> in_flight_{0};
  std::function<std::optional<int64_t>()> audit_chain_length_;
};

// The process's own series (process_cpu_seconds_total, process_resident_memory_bytes, …, as the
// Prometheus client libraries name them), read from /proc/self; appended to `out`.
void RenderProcessMetrics(std::string* out);

// Serves GET and HEAD /metrics (a query string is ignored) over plain HTTP/1.x on its own thread;
// 405 for other methods on /metrics, 404 elsewhere.
class MetricsHttpServer {
 public:
  explicit MetricsHttpServer(Metrics* metrics) : metrics_(metrics) {}
  ~MetricsHttpServer();
  // Returns the bound port.
  absl::StatusOr<int> Start(const std::string& host, int port);
  void Stop();

 private:
  void Serve();
  // The whole answer to one request's bytes (request line and headers).
  std::string Answer(std::string_view request);
  Metrics* metrics_;
  int fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_METRICS_METRICS_H_

#include "engine/metrics/metrics.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netdb.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "kaigo/version.h"

namespace kaigo::engine {

namespace {

const char* kCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

int ClampCode(int code) { return code < 0 || code > 16 ? 2 : code; }

void Family(std::string* out, absl::string_view name, absl::string_view type,
            absl::string_view help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

std::string SanitizeName(const std::string& name) {
  std::string out;
  for (char c : name) out.push_back(isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

}  // namespace

void MethodMetrics::Record(int code, int64_t micros) {
  codes_[ClampCode(code)].fetch_add(1, std::memory_order_relaxed);
  double seconds = static_cast<double>(micros) / 1e6;
  size_t bucket = 0;
  while (bucket < kBucketsSeconds.size() && seconds > kBucketsSeconds[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(micros), std::memory_order_relaxed);
}

void MethodMetrics::RenderCalls(const std::string& labels, std::string* out) const {
  for (int c = 0; c < 17; ++c) {
    uint64_t n = codes_[c].load(std::memory_order_relaxed);
    if (n == 0) continue;
    absl::StrAppend(out, "kaigo_calls_total{", labels, ",code=\"", kCodeNames[c], "\"} ", n, "\n");
  }
}

void MethodMetrics::RenderDurations(const std::string& labels, std::string* out) const {
  uint64_t cumulative = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    cumulative += buckets_[b].load(std::memory_order_relaxed);
    std::string le = b < kBucketsSeconds.size() ? absl::StrCat(kBucketsSeconds[b]) : "+Inf";
    absl::StrAppend(out, "kaigo_call_duration_seconds_bucket{", labels, ",le=\"", le, "\"} ",
                    cumulative, "\n");
  }
  absl::StrAppend(out, "kaigo_call_duration_seconds_sum{", labels, "} ",
                  absl::StrFormat("%.6f", sum_micros_.load() / 1e6), "\n");
  absl::StrAppend(out, "kaigo_call_duration_seconds_count{", labels, "} ", cumulative, "\n");
}

MethodMetrics* Metrics::ForMethod(const std::string& plugin, const std::string& method) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = methods_[{plugin, method}];
  if (!slot) slot = std::make_unique<MethodMetrics>();
  return slot.get();
}

void Metrics::PluginCounterAdd(const std::string& plugin, const std::string& name, double delta) {
  std::string family = SanitizeName(name);
  // A plugin that names its counter `apdus_total` gets kaigo_plugin_apdus_total, not …_total_total.
  if (absl::EndsWith(family, "_total")) family.resize(family.size() - 6);
  std::lock_guard<std::mutex> lock(mu_);
  plugin_counters_[{family, plugin}] += delta;
}

void Metrics::PluginRestarted(const std::string& plugin) {
  std::lock_guard<std::mutex> lock(mu_);
  ++restarts_[plugin];
}

void Metrics::CallRefused(int code) {
  refused_[ClampCode(code)].fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::Render() {
  std::string out;
  Family(&out, "kaigo_build_info", "gauge",
         "The engine's version and the API release it serves; always 1.");
  absl::StrAppend(&out, "kaigo_build_info{version=\"", KAIGO_SDK_VERSION, "\",api_release=\"",
                  KAIGO_API_RELEASE, "\"} 1\n");
  RenderProcessMetrics(&out);
  // Read before the lock: it asks the store.
  if (std::optional<int64_t> length = audit_chain_length_ ? audit_chain_length_() : std::nullopt) {
    Family(&out, "kaigo_audit_chain_length", "gauge", "Records in the audit log's hash chain.");
    absl::StrAppend(&out, "kaigo_audit_chain_length ", *length, "\n");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto labels = [](const auto& key) {
    return absl::StrCat("plugin=\"", key.first, "\",method=\"", key.second, "\"");
  };
  Family(&out, "kaigo_calls_total", "counter", "Calls finished, by plugin, method and gRPC code.");
  for (const auto& [key, series] : methods_) series->RenderCalls(labels(key), &out);
  Family(&out, "kaigo_call_duration_seconds", "histogram", "Time from call arrival to finish.");
  for (const auto& [key, series] : methods_) series->RenderDurations(labels(key), &out);
  Family(&out, "kaigo_calls_refused_total", "counter",
         "Calls refused before reaching a plugin, by code.");
  for (int c = 0; c < 17; ++c) {
    uint64_t n = refused_[c].load();
    if (n > 0)
      absl::StrAppend(&out, "kaigo_calls_refused_total{code=\"", kCodeNames[c], "\"} ", n, "\n");
  }
  Family(&out, "kaigo_calls_in_flight", "gauge", "Calls admitted and not yet finished.");
  absl::StrAppend(&out, "kaigo_calls_in_flight ", in_flight_.load(), "\n");
  Family(&out, "kaigo_plugin_restarts_total", "counter",
         "Isolated plugin processes started again after they ended.");
  for (const auto& [plugin, n] : restarts_) {
    absl::StrAppend(&out, "kaigo_plugin_restarts_total{plugin=\"", plugin, "\"} ", n, "\n");
  }
  std::string family;
  for (const auto& [key, value] : plugin_counters_) {
    if (key.first != family) {
      family = key.first;
      Family(&out, absl::StrCat("kaigo_plugin_", family, "_total"), "counter",
             absl::StrCat("Counter ", family, " of the plugins that add to it, by plugin."));
    }
    absl::StrAppend(&out, "kaigo_plugin_", family, "_total{plugin=\"", key.second, "\"} ", value,
                    "\n");
  }
  return out;
}

void RenderProcessMetrics(std::string* out) {
  // /proc/self/stat: fields after the command's closing parenthesis, from field 3 (state) on.
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  if (fields.size() < 22) return;
  auto field = [&](int number) {  // proc(5) numbering
    double v = 0;
    return absl::SimpleAtod(fields[number - 3], &v) ? v : 0.0;
  };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double boot_time = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);) {
    if (absl::StartsWith(line, "btime ")) absl::SimpleAtod(line.substr(6), &boot_time);
  }
  int open_fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir)) open_fds += entry->d_name[0] != '.';
    closedir(dir);
    --open_fds;  // the directory's own descriptor
  }
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  Family(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent, seconds.");
  absl::StrAppend(out, "process_cpu_seconds_total ", (field(14) + field(15)) / ticks, "\n");
  Family(out, "process_resident_memory_bytes", "gauge", "Resident memory size, bytes.");
  absl::StrAppend(out, "process_resident_memory_bytes ",
                  field(24) * static_cast<double>(sysconf(_SC_PAGESIZE)), "\n");
  Family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size, bytes.");
  absl::StrAppend(out, "process_virtual_memory_bytes ", field(23), "\n");
  Family(out, "process_start_time_seconds", "gauge", "Start time since the Unix epoch, seconds.");
  absl::StrAppend(out, "process_start_time_seconds ", boot_time + field(22) / ticks, "\n");
  Family(out, "process_open_fds", "gauge", "Open file descriptors.");
  absl::StrAppend(out, "process_open_fds ", open_fds, "\n");
  Family(out, "process_max_fds", "gauge", "The limit on open file descriptors.");
  absl::StrAppend(out, "process_max_fds ", static_cast<double>(files.rlim_cur), "\n");
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

std::string MetricsHttpServer::Answer(std::string_view request) {
  // The request line: METHOD SP TARGET SP HTTP/1.x
  std::vector<std::string> line = absl::StrSplit(
      absl::string_view(request.data(), request.find("\r\n") == std::string_view::npos
                                            ? request.size()
                                            : request.find("\r\n")),
      absl::MaxSplits(' ', 2));
  std::string method = line.size() == 3 ? line[0] : "";
  std::string path = line.size() == 3 ? line[1].substr(0, line[1].find('?')) : "";
  std::string status = "200 OK", body, allow;
  if (path != "/metrics") {
    status = "404 Not Found";
    body = "only /metrics is served here\n";
  } else if (method != "GET" && method != "HEAD") {
    status = "405 Method Not Allowed";
    body = "GET or HEAD\n";
    allow = "Allow: GET, HEAD\r\n";
  } else {
    body = metrics_->Render();
  }
  return absl::StrCat("HTTP/1.1 ", status,
                      "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n", allow,
                      "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n",
                      method == "HEAD" ? "" : body);
}

absl::StatusOr<int> MetricsHttpServer::Start(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0 || res == nullptr) {
    return absl::InvalidArgumentError("metrics_listen: cannot resolve " + host);
  }
  fd_ = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  bool ok = fd_ >= 0 && bind(fd_, res->ai_addr, res->ai_addrlen) == 0 && listen(fd_, 16) == 0;
  freeaddrinfo(res);
  if (!ok) {
    std::string error = strerror(errno);
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return absl::UnavailableError("metrics_listen: cannot listen on " + host + ":" + service +
                                  ": " + error);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  int bound_port = bound.ss_family == AF_INET6
                       ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  thread_ = std::thread([this] { Serve(); });
  return bound_port;
}

void MetricsHttpServer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void MetricsHttpServer::Serve() {
  while (!stopping_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    timeval timeout{2, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string request;
    char buf[2048];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
      ssize_t n = recv(client, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    std::string response = Answer(request);
    size_t sent = 0;
    while (sent < response.size()) {
      ssize_t n = send(client, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    close(client);
  }
}

}  // namespace kaigo::engine

#include "engine/metrics/metrics.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kaigo::engine {

namespace {

const char* kCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

int ClampCode(int code) { return code < 0 || code > 16 ? 2 : code; }

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

void MethodMetrics::Render(const std::string& labels, std::string* out) const {
  uint64_t total = 0;
  for (int c = 0; c < 17; ++c) {
    uint64_t n = codes_[c].load(std::memory_order_relaxed);
    if (n == 0) continue;
    absl::StrAppend(out, "kaigo_calls_total{", labels, ",code=\"", kCodeNames[c], "\"} ", n, "\n");
  }
  uint64_t cumulative = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    cumulative += buckets_[b].load(std::memory_order_relaxed);
    std::string le = b < kBucketsSeconds.size() ? absl::StrCat(kBucketsSeconds[b]) : "+Inf";
    absl::StrAppend(out, "kaigo_call_duration_seconds_bucket{", labels, ",le=\"", le, "\"} ",
                    cumulative, "\n");
  }
  total = cumulative;
  absl::StrAppend(out, "kaigo_call_duration_seconds_sum{", labels, "} ",
                  absl::StrFormat("%.6f", sum_micros_.load() / 1e6), "\n");
  absl::StrAppend(out, "kaigo_call_duration_seconds_count{", labels, "} ", total, "\n");
}

MethodMetrics* Metrics::ForMethod(const std::string& plugin, const std::string& method) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = methods_[{plugin, method}];
  if (!slot) slot = std::make_unique<MethodMetrics>();
  return slot.get();
}

void Metrics::PluginCounterAdd(const std::string& plugin, const std::string& name, double delta) {
  std::lock_guard<std::mutex> lock(mu_);
  plugin_counters_[{plugin, SanitizeName(name)}] += delta;
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
  // Read before the lock: it asks the store.
  if (std::optional<int64_t> length = audit_chain_length_ ? audit_chain_length_() : std::nullopt) {
    out += "# HELP kaigo_audit_chain_length Records in the audit log's hash chain.\n";
    out += "# TYPE kaigo_audit_chain_length gauge\n";
    absl::StrAppend(&out, "kaigo_audit_chain_length ", *length, "\n");
  }
  out += "# HELP kaigo_calls_total Calls finished, by plugin, method and gRPC code.\n";
  out += "# TYPE kaigo_calls_total counter\n";
  out += "# HELP kaigo_call_duration_seconds Time from call arrival to finish.\n";
  out += "# TYPE kaigo_call_duration_seconds histogram\n";
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, series] : methods_) {
    series->Render(absl::StrCat("plugin=\"", key.first, "\",method=\"", key.second, "\""), &out);
  }
  out += "# HELP kaigo_calls_refused_total Calls refused before reaching a plugin, by code.\n";
  out += "# TYPE kaigo_calls_refused_total counter\n";
  for (int c = 0; c < 17; ++c) {
    uint64_t n = refused_[c].load();
    if (n > 0)
      absl::StrAppend(&out, "kaigo_calls_refused_total{code=\"", kCodeNames[c], "\"} ", n, "\n");
  }
  out += "# TYPE kaigo_calls_in_flight gauge\n";
  absl::StrAppend(&out, "kaigo_calls_in_flight ", in_flight_.load(), "\n");
  if (!restarts_.empty()) {
    out +=
        "# HELP kaigo_plugin_restarts_total Isolated plugin processes started again after they "
        "ended.\n";
    out += "# TYPE kaigo_plugin_restarts_total counter\n";
  }
  for (const auto& [plugin, n] : restarts_) {
    absl::StrAppend(&out, "kaigo_plugin_restarts_total{plugin=\"", plugin, "\"} ", n, "\n");
  }
  for (const auto& [key, value] : plugin_counters_) {
    absl::StrAppend(&out, "kaigo_plugin_", key.second, "_total{plugin=\"", key.first, "\"} ", value,
                    "\n");
  }
  return out;
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

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
    std::string body, status;
    if (request.rfind("GET /metrics ", 0) == 0) {
      status = "200 OK";
      body = metrics_->Render();
    } else {
      status = "404 Not Found";
      body = "only GET /metrics is served here\n";
    }
    std::string response = absl::StrCat("HTTP/1.1 ", status,
                                        "\r\nContent-Type: text/plain; version=0.0.4\r\n"
                                        "Content-Length: ",
                                        body.size(), "\r\nConnection: close\r\n\r\n", body);
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

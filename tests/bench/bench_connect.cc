// bench_connect: a unary call over Connect (HTTP/1.1, JSON and binary) against the same call over
// gRPC, to the same engine in the same run.
//
// kaigo-bridge with the probe plugin serves both listeners. For each of K = 1 and 8 client
// threads, each transport is driven for 2 s with Echo (a 64-byte payload), three rounds
// alternating the transports so drift hits all alike, keeping the median of each figure. Connect
// clients are libcurl easy handles, one per thread, reusing their connection (keep-alive); gRPC
// clients are synchronous stubs on one channel. Prints calls/s, p50 and p99 per transport and
// level, and last:
//   RESULT connect_json_ratio=<json/grpc calls/s> connect_proto_ratio=<proto/grpc calls/s>
//          grpc_calls_per_s=… connect_json_calls_per_s=… connect_proto_calls_per_s=…
//          grpc_p50_us=… connect_json_p50_us=… (at K = 1)
#include <curl/curl.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "kaigo/test/v1/probe.grpc.pb.h"
#include "latency_summary.h"
#include "tests/support/test_env.h"

namespace {

namespace t = kaigo::test::v1;
using Clock = std::chrono::steady_clock;

const std::string kOffice = kaigo::testing::Office("137100001");
const std::string kPayload(64, 'x');

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One thread's calls: a function that makes one call and says whether it succeeded.
using Caller = std::function<bool()>;
using CallerFactory = std::function<Caller()>;

kaigo::bench::Figures Drive(const CallerFactory& factory, int threads, double seconds) {
  std::vector<std::vector<double>> latencies(threads);
  std::atomic<int64_t> failed{0};
  std::vector<Caller> callers;
  for (int i = 0; i < threads; ++i) callers.push_back(factory());
  for (auto& c : callers) c();  // connect and warm up
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      while (Clock::now() < end) {
        auto start = Clock::now();
        bool ok = callers[i]();
        auto us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
        if (ok) {
          latencies[i].push_back(us);
        } else {
          failed.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  return kaigo::bench::Summarize(all, seconds, failed.load());
}

CallerFactory Grpc(const std::string& target) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  return [channel] {
    auto stub = std::shared_ptr<t::ProbeService::Stub>(t::ProbeService::NewStub(channel));
    return [stub]() {
      grpc::ClientContext context;
      context.AddMetadata("x-kaigo-office", kOffice);
      t::EchoRequest request;
      request.set_payload(kPayload);
      t::EchoResponse response;
      return stub->Echo(&context, request, &response).ok() && response.payload() == kPayload;
    };
  };
}

CallerFactory Connect(int port, bool json) {
  return [port, json] {
    struct Handle {
      CURL* curl = curl_easy_init();
      curl_slist* headers = nullptr;
      std::string body, answer;
      ~Handle() {
        curl_slist_free_all(headers);
        curl_easy_cleanup(curl);
      }
    };
    auto h = std::make_shared<Handle>();
    std::string url = absl::StrFormat("http://127.0.0.1:%d/kaigo.test.v1.ProbeService/Echo", port);
    h->headers = curl_slist_append(
        h->headers, json ? "Content-Type: application/json" : "Content-Type: application/proto");
    h->headers = curl_slist_append(h->headers, "Connect-Protocol-Version: 1");
    h->headers = curl_slist_append(h->headers, ("x-kaigo-office: " + kOffice).c_str());
    h->headers = curl_slist_append(h->headers, "Expect:");
    t::EchoRequest request;
    request.set_payload(kPayload);
    h->body = json ? "{\"payload\":\"" + absl::Base64Escape(kPayload) + "\"}"
                   : request.SerializeAsString();
    curl_easy_setopt(h->curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, h->body.data());
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(h->body.size()));
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &h->answer);
    curl_easy_setopt(h->curl, CURLOPT_TCP_NODELAY, 1L);
    return [h, json]() {
      h->answer.clear();
      long status = 0;
      if (curl_easy_perform(h->curl) != CURLE_OK) return false;
      curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
      if (status != 200) return false;
      if (json) return h->answer.find("\"payload\"") != std::string::npos;
      t::EchoResponse response;
      return response.ParseFromString(h->answer) && response.payload() == kPayload;
    };
  };
}

}  // namespace

int main() {
  using namespace kaigo::testing;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  TempDir dir;
  std::string config =
      "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n  http_listen: 127.0.0.1:0\n"
      "  call_limits: {per_office: 1000, per_caller: 1000}\n"
      "plugins:\n  - {name: probe, path: " +
      PluginDir() + "/probe.so}\noffices:\n  - number: \"" + kOffice +
      "\"\n    concerns: [{service: kaigo.test.v1.ProbeService, plugin: probe}]\n"
      "store:\n  sqlite_path: state.db\nlog:\n  level: warn\n";
  auto engine = EngineProcess::Start(dir.Write("engine.yaml", config));
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", std::string(engine.status().message()).c_str());
    return 1;
  }
  const std::vector<std::pair<std::string, CallerFactory>> transports = {
      {"grpc", Grpc((*engine)->target())},
      {"connect_json", Connect((*engine)->http_port(), true)},
      {"connect_proto", Connect((*engine)->http_port(), false)}};
  std::map<std::pair<std::string, int>, kaigo::bench::Figures> result;
  std::printf("%-14s %3s %12s %10s %10s %7s\n", "transport", "K", "calls/s", "p50 µs", "p99 µs",
              "failed");
  for (int k : {1, 8}) {
    std::map<std::string, std::vector<kaigo::bench::Figures>> rounds;
    for (int round = 0; round < 3; ++round) {
      for (const auto& [name, factory] : transports) rounds[name].push_back(Drive(factory, k, 2.0));
    }
    for (const auto& [name, figures] : rounds) {
      auto median = [&](double kaigo::bench::Figures::*field) {
        std::vector<double> v;
        for (const auto& f : figures) v.push_back(f.*field);
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
      };
      kaigo::bench::Figures f;
      f.calls_per_s = median(&kaigo::bench::Figures::calls_per_s);
      f.p50_us = median(&kaigo::bench::Figures::p50_us);
      f.p99_us = median(&kaigo::bench::Figures::p99_us);
      for (const auto& r : figures) f.failed += r.failed;
      result[{name, k}] = f;
      std::printf("%-14s %3d %12.0f %10.0f %10.0f %7lld\n", name.c_str(), k, f.calls_per_s,
                  f.p50_us, f.p99_us, static_cast<long long>(f.failed));
    }
  }
  auto at = [&](const std::string& name, int k) { return result[{name, k}]; };
  std::printf(
      "RESULT connect_json_ratio=%.2f connect_proto_ratio=%.2f grpc_calls_per_s=%.0f "
      "connect_json_calls_per_s=%.0f connect_proto_calls_per_s=%.0f grpc_p50_us=%.0f "
      "connect_json_p50_us=%.0f connect_proto_p50_us=%.0f grpc_calls_per_s_k8=%.0f "
      "connect_json_calls_per_s_k8=%.0f\n",
      at("connect_json", 1).calls_per_s / at("grpc", 1).calls_per_s,
      at("connect_proto", 1).calls_per_s / at("grpc", 1).calls_per_s, at("grpc", 1).calls_per_s,
      at("connect_json", 1).calls_per_s, at("connect_proto", 1).calls_per_s, at("grpc", 1).p50_us,
      at("connect_json", 1).p50_us, at("connect_proto", 1).p50_us, at("grpc", 8).calls_per_s,
      at("connect_json", 8).calls_per_s);
  curl_global_cleanup();
  return 0;
}

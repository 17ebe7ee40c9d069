// bench_engine_overhead: what the engine costs over a plain gRPC server.
//
// The same Echo handler (tests/plugins/probe/echo_handler.h) runs behind
//   (a) a bare typed gRPC callback server, in a child process, and
//   (b) kaigo-bridge with the probe plugin, in a child process;
//   (c) kaigo-bridge with the probe plugin under `isolation: process` (its own kaigo-plugin-host
//       child; context switches counted for the engine process only);
// one client in this process drives each with K calls in flight (K = 1, 4, 16, 64) for 2 s, three
// rounds per level alternating the servers so drift hits all alike, and keeps the median of each
// figure. A third server, the same handler behind gRPC's generic service, is shown for reference.
// Prints throughput, p50/p99 and context switches per call per level and, last, the geometric
// means over the levels of the engine/bare ratios:
//   RESULT throughput_ratio=<engine/bare> p99_ratio=<engine/bare>
//          isolated_throughput_ratio=<isolated/engine> isolated_p99_ratio=<isolated/engine>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

#include "absl/strings/str_format.h"
#include "echo_handler.h"
#include "kaigo/test/v1/probe.grpc.pb.h"
#include "latency_summary.h"
#include "tests/support/test_env.h"

namespace {

namespace t = kaigo::test::v1;
using Clock = std::chrono::steady_clock;

const std::string kOffice = kaigo::testing::Office("137100001");

// (a) The bare server: the generated callback service calling the shared handler.
class BareProbe : public t::ProbeService::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const t::EchoRequest* req,
                                 t::EchoResponse* resp) override {
    auto office = context->client_metadata().find("x-kaigo-office");
    std::string office_value = office == context->client_metadata().end()
                                   ? ""
                                   : std::string(office->second.data(), office->second.size());
    static const std::vector<std::string> roles = {"care_manager", "care_staff", "medical",
                                                   "office_admin", "engine_admin"};
    kaigo::test::AnswerEcho(*req, office_value, "anonymous", roles, resp);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// (c) For reference only: the same handler behind gRPC's callback generic service (a bidi
// stream per call), the API the engine must use to serve methods it was not built with.
class GenericEcho : public grpc::CallbackGenericService {
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(grpc::GenericCallbackServerContext* context) : context_(context) {
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
        return;
      }
      grpc::Slice slice;
      request_.DumpToSingleSlice(&slice);
      t::EchoRequest req;
      req.ParseFromArray(slice.begin(), static_cast<int>(slice.size()));
      t::EchoResponse resp;
      auto office = context_->client_metadata().find("x-kaigo-office");
      kaigo::test::AnswerEcho(req, std::string(office->second.data(), office->second.size()),
                              "anonymous", {}, &resp);
      grpc::Slice out(resp.SerializeAsString());
      response_ = grpc::ByteBuffer(&out, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::GenericCallbackServerContext* context_;
    grpc::ByteBuffer request_, response_;
  };

 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* c) override {
    return new Reactor(c);
  }
};

pid_t StartBareServer(int* port, bool generic) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    BareProbe service;
    GenericEcho generic_service;
    grpc::ServerBuilder builder;
    int bound = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &bound);
    if (generic) {
      builder.RegisterCallbackGenericService(&generic_service);
    } else {
      builder.RegisterService(&service);
    }
    auto server = builder.BuildAndStart();
    if (write(fds[1], &bound, sizeof bound) != sizeof bound) _exit(1);
    server->Wait();
    _exit(0);
  }
  close(fds[1]);
  if (read(fds[0], port, sizeof *port) != sizeof *port) return -1;
  close(fds[0]);
  return pid;
}

// Context switches of every thread of `pid` so far.
int64_t ContextSwitches(pid_t pid) {
  int64_t total = 0;
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::ifstream status(task.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.find("ctxt_switches:") != std::string::npos) {
        total += std::stoll(line.substr(line.find(':') + 1));
      }
    }
  }
  return total;
}

using kaigo::bench::Figures;

// Keeps `in_flight` Echo calls outstanding for `duration`, each completion issuing the next.
Figures Drive(const std::shared_ptr<grpc::Channel>& channel, pid_t server, int in_flight,
              std::chrono::milliseconds duration) {
  int64_t switches_before = ContextSwitches(server);
  auto stub = t::ProbeService::NewStub(channel);
  t::EchoRequest request;
  request.set_payload(std::string(64, 'x'));
  std::mutex mu;
  std::condition_variable idle;
  std::vector<double> latencies;
  std::atomic<int64_t> failed{0};
  int running = 0;
  Clock::time_point end = Clock::now() + duration;

  struct Call {
    grpc::ClientContext context;
    t::EchoResponse response;
    Clock::time_point start;
  };
  std::function<void()> issue = [&] {
    auto* call = new Call();
    call->context.AddMetadata("x-kaigo-office", kOffice);
    call->start = Clock::now();
    stub->async()->Echo(&call->context, &request, &call->response, [&, call](grpc::Status s) {
      auto now = Clock::now();
      double us = std::chrono::duration<double, std::micro>(now - call->start).count();
      delete call;
      if (!s.ok()) ++failed;
      bool again = now < end;
      {
        std::lock_guard<std::mutex> lock(mu);
        latencies.push_back(us);
        if (!again) {
          --running;
          idle.notify_all();
        }
      }
      if (again) issue();
    });
  };
  Clock::time_point start = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu);
    running = in_flight;
  }
  for (int i = 0; i < in_flight; ++i) issue();
  std::unique_lock<std::mutex> lock(mu);
  idle.wait(lock, [&] { return running == 0; });
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Figures f = kaigo::bench::Summarize(latencies, seconds, failed);
  f.switches_per_call =
      static_cast<double>(ContextSwitches(server) - switches_before) / latencies.size();
  return f;
}

// Field by field: the median of each figure over the rounds.
Figures Median(std::vector<Figures> runs) {
  auto median = [&](double Figures::*field) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.*field);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  Figures m;
  m.calls_per_s = median(&Figures::calls_per_s);
  m.p50_us = median(&Figures::p50_us);
  m.p99_us = median(&Figures::p99_us);
  m.switches_per_call = median(&Figures::switches_per_call);
  for (const auto& r : runs) m.failed += r.failed;
  return m;
}

}  // namespace

int main() {
  int bare_port = 0, generic_port = 0;
  // Both before this process starts any gRPC thread.
  pid_t bare = StartBareServer(&bare_port, false);
  pid_t generic = StartBareServer(&generic_port, true);
  if (bare < 0 || generic < 0) {
    fprintf(stderr, "cannot start the bare server\n");
    return 1;
  }
  kaigo::testing::TempDir dir;
  auto config = [](const std::string& isolation) {
    return "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n"
           "plugins:\n  - {name: probe, path: " +
           kaigo::testing::PluginDir() + "/probe.so, isolation: " + isolation +
           "}\noffices:\n  - number: \"" + kOffice +
           "\"\n    concerns:\n      - {service: kaigo.test.v1.ProbeService, "
           "plugin: probe}\nlog:\n  level: warn\n";
  };
  auto engine =
      kaigo::testing::EngineProcess::Start(dir.Write("engine.yaml", config("in_process")));
  kaigo::testing::TempDir isolated_dir;
  auto isolated =
      kaigo::testing::EngineProcess::Start(isolated_dir.Write("engine.yaml", config("process")));
  if (!engine.ok() || !isolated.ok()) {
    fprintf(stderr, "%s\n",
            std::string((engine.ok() ? isolated.status() : engine.status()).message()).c_str());
    kill(bare, SIGKILL);
    kill(generic, SIGKILL);
    return 1;
  }
  auto bare_channel = kaigo::testing::InsecureChannel("127.0.0.1:" + std::to_string(bare_port));
  auto engine_channel = kaigo::testing::InsecureChannel((*engine)->target());
  auto isolated_channel = kaigo::testing::InsecureChannel((*isolated)->target());
  auto generic_channel =
      kaigo::testing::InsecureChannel("127.0.0.1:" + std::to_string(generic_port));

  const std::chrono::milliseconds warmup(500), measure(2000);
  const int rounds = 3;  // per level, alternating servers; medians reported
  pid_t engine_pid = (*engine)->pid();
  pid_t isolated_pid = (*isolated)->pid();
  Drive(bare_channel, bare, 8, warmup);
  Drive(engine_channel, engine_pid, 8, warmup);
  Drive(isolated_channel, isolated_pid, 8, warmup);

  printf("%-8s %-7s %12s %10s %10s %7s %8s\n", "in-flight", "server", "calls/s", "p50 µs", "p99 µs",
         "failed", "cs/call");
  double log_throughput = 0, log_p99 = 0, log_isolated_throughput = 0, log_isolated_p99 = 0;
  const std::vector<int> levels = {1, 4, 16, 64};
  for (int k : levels) {
    std::vector<Figures> bs, es, gs, is;
    for (int r = 0; r < rounds; ++r) {
      bs.push_back(Drive(bare_channel, bare, k, measure));
      es.push_back(Drive(engine_channel, engine_pid, k, measure));
      gs.push_back(Drive(generic_channel, generic, k, measure));
      is.push_back(Drive(isolated_channel, isolated_pid, k, measure));
    }
    Figures b = Median(bs), e = Median(es), g = Median(gs), i = Median(is);
    for (auto [name, f] : {std::make_pair("bare", b), std::make_pair("engine", e),
                           std::make_pair("generic", g), std::make_pair("isolated", i)}) {
      printf("%-8d %-7s %12.0f %10.0f %10.0f %7lld %8.2f\n", k, name, f.calls_per_s, f.p50_us,
             f.p99_us, static_cast<long long>(f.failed), f.switches_per_call);
    }
    printf("%-8d ratio   %12.3f %10.3f %10.3f\n", k, e.calls_per_s / b.calls_per_s,
           e.p50_us / b.p50_us, e.p99_us / b.p99_us);
    printf("%-8d iso/eng %12.3f %10.3f %10.3f\n", k, i.calls_per_s / e.calls_per_s,
           i.p50_us / e.p50_us, i.p99_us / e.p99_us);
    log_throughput += std::log(e.calls_per_s / b.calls_per_s);
    log_p99 += std::log(e.p99_us / b.p99_us);
    log_isolated_throughput += std::log(i.calls_per_s / e.calls_per_s);
    log_isolated_p99 += std::log(i.p99_us / e.p99_us);
  }
  (*engine)->Stop();
  (*isolated)->Stop();
  for (pid_t pid : {bare, generic}) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
  double n = static_cast<double>(levels.size());
  printf(
      "RESULT throughput_ratio=%.3f p99_ratio=%.3f isolated_throughput_ratio=%.3f "
      "isolated_p99_ratio=%.3f\n",
      std::exp(log_throughput / n), std::exp(log_p99 / n), std::exp(log_isolated_throughput / n),
      std::exp(log_isolated_p99 / n));
  return 0;
}

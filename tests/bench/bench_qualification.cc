// bench_qualification: what the engine adds to a qualification lookup.
//
// The same lookups by number (five recipients in turn) run
//   (direct) straight to the sandbox with the plugins' PlatformClient (TLS 1.3, PKCS#12), and
//   (engine) through gRPC → engine → qualification plugin → the same client → the sandbox,
// with N concurrent callers (N = 1, 4, 16), 3 s each, alternating, in one run — twice: with the
// sandbox answering as fast as loopback allows, and with a modelled platform round trip of 10 ms
// (the sandbox's latency switch; a conservative figure for an HTTPS API reached over the
// internet). Prints calls/s and p50/p99 per level and, last:
//   RESULT engine_p50_share=<(engine p50 − direct p50) / engine p50, N=4, 10 ms platform>
//          lookups_per_s=<engine, N=16, 10 ms platform>
//          engine_p50_share_loopback=<the same share, loopback> engine_overhead_p50_us=<N=4,
//          loopback>
// At loopback speed the share mostly measures one gRPC hop, a worker hand-off and the audit write
// against a ~100 µs upstream; the absolute overhead is the figure to watch there.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "kaigo/v1/qualification.grpc.pb.h"
#include "latency_summary.h"
#include "load_driver.h"
#include "platform_client.h"
#include "tests/support/test_env.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = kaigo::v1;

const char* kInsured[] = {"0000100004", "0000100005", "0000100006", "0000100010", "0000100011"};

using kaigo::bench::Drive;
using kaigo::bench::Figures;

}  // namespace

int main() {
  using namespace kaigo::testing;
  auto stack = PlatformStack::Start(
      {"qualification"},
      [](const SandboxProcess& sandbox, const TempDir& dir) {
        return PlatformOfficeYaml(sandbox, dir, "1371000017", "sakura-cm", "Sakura#2026",
                                  {{"kaigo.v1.QualificationService", "qualification", {}}});
      },
      "warn");
  if (!stack.ok()) {
    fprintf(stderr, "%s\n", std::string(stack.status().message()).c_str());
    return 1;
  }
  SandboxProcess* sandbox = (*stack)->sandbox.get();
  kaigo::platform::ClientOptions options;
  options.base_url = sandbox->base_url();
  options.ca_pem = sandbox->ca_pem();
  options.client_p12 = sandbox->p12("1371000017");
  options.client_p12_password = "sandbox";
  options.user_id = "sakura-cm";
  options.password = "Sakura#2026";
  auto client = kaigo::platform::PlatformClient::Create(options);
  auto stub = v1::QualificationService::NewStub(InsecureChannel((*stack)->engine->target()));

  auto direct = [&](int i) {
    auto r = (*client)->Get(std::string("/api/v1/insured-certificate?insurer_number=131011&") +
                            "insured_number=" + kInsured[i % 5] + "&as_of=2026-11-24");
    return r.ok() && r->http_status == 200;
  };
  auto through_engine = [&](int i) {
    v1::LookupByInsuredNumberRequest request;
    request.mutable_insurer()->set_value("131011");
    request.mutable_insured()->set_value(kInsured[i % 5]);
    v1::LookupByInsuredNumberResponse result;
    return stub->LookupByInsuredNumber(Context("1371000017").get(), request, &result).ok();
  };
  Drive(4, std::chrono::milliseconds(500), direct);  // warm-up: logins, connections
  Drive(4, std::chrono::milliseconds(500), through_engine);

  struct Regime {
    double share_at_4 = 0, overhead_at_4 = 0, engine_rate_at_16 = 0;
  };
  auto measure = [&](const char* title) {
    Regime regime;
    printf("\n%s\n%-8s %-7s %10s %10s %10s %7s\n", title, "callers", "path", "lookups/s", "p50 µs",
           "p99 µs", "failed");
    for (int n : {1, 4, 16}) {
      Figures d = Drive(n, std::chrono::milliseconds(3000), direct);
      Figures e = Drive(n, std::chrono::milliseconds(3000), through_engine);
      for (auto [name, f] : {std::make_pair("direct", d), std::make_pair("engine", e)}) {
        printf("%-8d %-7s %10.0f %10.0f %10.0f %7lld\n", n, name, f.calls_per_s, f.p50_us, f.p99_us,
               static_cast<long long>(f.failed));
      }
      double share = (e.p50_us - d.p50_us) / e.p50_us;
      printf("%-8d engine adds %.0f µs at p50, a share of %.3f\n", n, e.p50_us - d.p50_us, share);
      if (n == 4) {
        regime.share_at_4 = share;
        regime.overhead_at_4 = e.p50_us - d.p50_us;
      }
      if (n == 16) regime.engine_rate_at_16 = e.calls_per_s;
    }
    return regime;
  };
  Regime loopback = measure("sandbox at loopback speed");
  if (!sandbox->Faults(R"({"latency_ms": 10})").ok()) return 1;
  Regime platform = measure("sandbox with a 10 ms platform round trip");
  stack->reset();
  printf(
      "RESULT engine_p50_share=%.3f lookups_per_s=%.0f engine_p50_share_loopback=%.3f "
      "engine_overhead_p50_us=%.0f\n",
      platform.share_at_4, platform.engine_rate_at_16, loopback.share_at_4, loopback.overhead_at_4);
  return 0;
}

// What one caller or office can make the engine hold (server.call_limits): calls in flight per
// office and per caller are refused with RESOURCE_EXHAUSTED naming the limit while others go on;
// a stream whose client does not read ends with RESOURCE_EXHAUSTED instead of buffering without
// end; a watch stream ends with UNAVAILABLE ("reconnect") at its maximum age.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "kaigo/test/v1/probe.grpc.pb.h"
#include "kaigo/v1/otp.grpc.pb.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace t = kaigo::test::v1;
namespace v1 = kaigo::v1;

const std::string kOfficeA = Office("137100001");
const std::string kOfficeB = Office("137100002");
const std::string kOfficeC = Office("137100003");

class CallLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string config =
        "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n"
        "  metrics_listen: 127.0.0.1:0\n"
        "  call_limits: {per_office: 4, per_caller: 6, stream_queue_messages: 8, "
        "watch_max_age_seconds: 1}\n"
        "plugins:\n  - {name: probe, path: " +
        PluginDir() + "/probe.so}\n  - {name: otp_relay, path: " + PluginDir() +
        "/otp_relay.so}\noffices:\n";
    for (const auto& office : {kOfficeA, kOfficeB, kOfficeC}) {
      config += "  - number: \"" + office +
                "\"\n    concerns:\n"
                "      - {service: kaigo.test.v1.ProbeService, plugin: probe}\n"
                "      - {service: kaigo.v1.OtpService, plugin: otp_relay}\n";
    }
    config += "store:\n  sqlite_path: state.db\nlog:\n  level: warn\n";
    auto engine = EngineProcess::Start(dir_.Write("engine.yaml", config));
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    probe_ = t::ProbeService::NewStub(InsecureChannel(engine_->target()));
  }

  grpc::Status Echo(const std::string& office) {
    t::EchoRequest request;
    t::EchoResponse response;
    return probe_->Echo(Context(office, absl::Seconds(10)).get(), request, &response);
  }

  // Waits until the engine holds `n` calls (kaigo_calls_in_flight).
  void AwaitInFlight(int n) {
    std::string want = "kaigo_calls_in_flight " + std::to_string(n) + "\n";
    for (int i = 0; i < 600; ++i) {
      auto metrics = HttpGet(engine_->metrics_port(), "/metrics");
      if (metrics.ok() && metrics->find(want) != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "never " << n << " calls in flight";
  }

  // Starts `n` Hang calls for `office`, one at a time, each held by the engine before the next.
  struct Hanging {
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::vector<std::future<grpc::Status>> calls;
    ~Hanging() {
      for (auto& c : contexts) c->TryCancel();
      for (auto& f : calls) f.wait();
    }
  };
  void Hang(const std::string& office, int n, Hanging* hanging) {
    int held = static_cast<int>(hanging->calls.size());
    for (int i = 0; i < n; ++i) {
      hanging->contexts.push_back(Context(office, absl::Seconds(60)));
      grpc::ClientContext* context = hanging->contexts.back().get();
      hanging->calls.push_back(std::async(std::launch::async, [this, context] {
        t::HangResponse response;
        return probe_->Hang(context, t::HangRequest(), &response);
      }));
      AwaitInFlight(held + i + 1);
    }
  }

  TempDir dir_;
  std::unique_ptr<EngineProcess> engine_;
  std::unique_ptr<t::ProbeService::Stub> probe_;
};

TEST_F(CallLimitsTest, CallsInFlightPerOfficeAndPerCaller) {
  Hanging hanging;
  Hang(kOfficeA, 4, &hanging);
  grpc::Status refused = Echo(kOfficeA);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("server.call_limits.per_office"), std::string::npos)
      << refused.error_message();
  EXPECT_TRUE(Echo(kOfficeB).ok()) << "another office is not held back";

  // Two more for office B: the caller ("anonymous") then has six in flight.
  Hang(kOfficeB, 2, &hanging);
  grpc::Status per_caller = Echo(kOfficeC);
  EXPECT_EQ(per_caller.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(per_caller.error_message().find("server.call_limits.per_caller"), std::string::npos)
      << per_caller.error_message();
  for (auto& c : hanging.contexts) c->TryCancel();
  for (auto& f : hanging.calls) f.wait();
  AwaitInFlight(0);
  EXPECT_TRUE(Echo(kOfficeA).ok()) << "slots are given back when calls end";
}

TEST_F(CallLimitsTest, AStreamItsClientDoesNotReadEnds) {
  auto context = Context(kOfficeA, absl::Seconds(60));
  t::CountRequest request;
  request.set_count(100000);
  auto reader = probe_->Count(context.get(), request);
  // Not reading for a while: flow control stops the engine's writes, the plugin's pile up.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  t::CountResponse message;
  int received = 0;
  while (reader->Read(&message)) ++received;
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_NE(status.error_message().find("stream_queue_messages"), std::string::npos);
  EXPECT_LT(received, 100000);
  EXPECT_TRUE(Echo(kOfficeA).ok());
}

TEST_F(CallLimitsTest, AWatchStreamEndsAtItsMaximumAge) {
  auto otp = v1::OtpService::NewStub(InsecureChannel(engine_->target()));
  auto context = Context(kOfficeA, absl::Seconds(60));
  auto watch = otp->WatchPending(context.get(), {});
  v1::WatchPendingResponse event;
  while (watch->Read(&event)) {
  }
  grpc::Status status = watch->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_NE(status.error_message().find("reconnect"), std::string::npos) << status.error_message();
}

}  // namespace
}  // namespace kaigo::testing

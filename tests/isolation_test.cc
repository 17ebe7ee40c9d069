// Fault containment with `isolation: process`: a plugin built against plugin.h alone (faulty)
// segfaults, aborts, lets an exception escape, leaks past its memory limit, exits and hangs, each
// in a child process of its own. Each time the call in flight fails with UNAVAILABLE naming the
// plugin and how its process ended, the engine and every other concern keep answering (a client
// calls them without pause throughout), and the plugin answers again from a new process. Crashing
// again and again opens the breaker; a trial call closes it.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "kaigo/test/v1/fault.grpc.pb.h"
#include "kaigo/test/v1/probe.grpc.pb.h"
#include "kaigo/v1/engine.grpc.pb.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace t = kaigo::test::v1;
namespace v1 = kaigo::v1;

const std::string kOfficeA = Office("137100001");
const std::string kOfficeB = Office("137100002");

class IsolationTest : public ::testing::Test {
 protected:
  std::string Config(int memory_mb) {
    std::string config =
        "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n  admin_socket: admin.sock\n"
        "  metrics_listen: 127.0.0.1:0\n"
        "plugin_dirs: [\"" +
        PluginDir() + "\", \"" + dir_.path() +
        "\"]\n"
        "plugins:\n"
        "  - name: faulty\n    path: " +
        PluginDir() +
        "/faulty.so\n    isolation: process\n"
        "    limits: {memory_mb: " +
        std::to_string(memory_mb) +
        ", hang_seconds: 2}\n"
        "  - {name: probe, path: " +
        PluginDir() + "/probe.so}\noffices:\n";
    for (const auto& office : {kOfficeA, kOfficeB}) {
      config += "  - number: \"" + office +
                "\"\n    concerns:\n"
                "      - {service: kaigo.test.v1.FaultService, plugin: faulty}\n"
                "      - {service: kaigo.test.v1.ProbeService, plugin: probe}\n";
    }
    return config + "store:\n  sqlite_path: state.db\nlog:\n  level: warn\n";
  }

  void SetUp() override {
    auto engine = EngineProcess::Start(dir_.Write("engine.yaml", Config(256)));
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    auto channel = InsecureChannel(engine_->target());
    fault_ = t::FaultService::NewStub(channel);
    probe_ = t::ProbeService::NewStub(channel);
    admin_ =
        v1::EngineAdminService::NewStub(InsecureChannel("unix:" + dir_.path() + "/admin.sock"));
    // Other offices and concerns, called without pause for the whole test.
    load_ = std::thread([this] {
      while (!stop_) {
        for (const auto& office : {kOfficeA, kOfficeB}) {
          t::EchoRequest request;
          request.set_payload("still here");
          t::EchoResponse response;
          auto status = probe_->Echo(Context(office, absl::Seconds(10)).get(), request, &response);
          (status.ok() ? answered_ : failed_).fetch_add(1);
        }
      }
    });
  }

  void TearDown() override {
    stop_ = true;
    if (load_.joinable()) load_.join();
    if (engine_ != nullptr) {
      EXPECT_EQ(kill(engine_->pid(), 0), 0) << "the engine is alive at the end";
      EXPECT_GT(answered_.load(), 0);
      EXPECT_EQ(failed_.load(), 0) << "no call to another concern failed";
      engine_->Stop();
    }
  }

  grpc::Status Misbehave(const std::string& office, const std::string& how,
                         t::MisbehaveResponse* response = nullptr,
                         absl::Duration deadline = absl::Seconds(30)) {
    t::MisbehaveRequest request;
    request.set_how(how);
    t::MisbehaveResponse ignored;
    return fault_->Misbehave(Context(office, deadline).get(), request,
                             response != nullptr ? response : &ignored);
  }

  // The serving process's id, once the plugin answers again (within a minute).
  int AnswersAgain(const std::string& office) {
    for (int i = 0; i < 600; ++i) {
      t::MisbehaveResponse response;
      if (Misbehave(office, "", &response).ok()) {
        EXPECT_EQ(response.office(), office);
        return response.pid();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "the plugin did not answer again";
    return 0;
  }

  v1::PluginRuntime Runtime() {
    v1::ListPluginsResponse plugins;
    grpc::ClientContext context;
    auto status = admin_->ListPlugins(&context, {}, &plugins);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const auto& plugin : plugins.plugins()) {
      if (plugin.name() == "faulty" && plugin.active()) return plugin.runtime();
    }
    ADD_FAILURE() << "faulty is not listed";
    return {};
  }

  TempDir dir_;
  std::unique_ptr<EngineProcess> engine_;
  std::unique_ptr<t::FaultService::Stub> fault_;
  std::unique_ptr<t::ProbeService::Stub> probe_;
  std::unique_ptr<v1::EngineAdminService::Stub> admin_;
  std::thread load_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> answered_{0}, failed_{0};
};

TEST_F(IsolationTest, EachFaultCostsItsCallAndARestart) {
  int pid = AnswersAgain(kOfficeA);
  ASSERT_NE(pid, 0);
  EXPECT_NE(pid, engine_->pid()) << "the plugin runs in a process of its own";
  v1::PluginRuntime runtime = Runtime();
  EXPECT_EQ(runtime.isolation(), v1::ISOLATION_PROCESS);
  EXPECT_EQ(runtime.state(), v1::PLUGIN_STATE_RUNNING);
  EXPECT_EQ(runtime.pid(), pid);

  struct Fault {
    std::string how;
    std::string says;  // in the caller's error and the runtime's last exit
  };
  int restarts = 0;
  for (const Fault& fault : std::vector<Fault>{{"segfault", "signal 11 (SIGSEGV)"},
                                               {"abort", "signal 6 (SIGABRT)"},
                                               {"throw", "C++ exception"},
                                               {"leak", "memory limit"},
                                               {"exit", "status 3"}}) {
    SCOPED_TRACE(fault.how);
    grpc::Status status = Misbehave(kOfficeA, fault.how);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_NE(status.error_message().find("plugin faulty"), std::string::npos)
        << status.error_message();
    EXPECT_NE(status.error_message().find(fault.says), std::string::npos) << status.error_message();
    int next = AnswersAgain(kOfficeB);  // the other office's instance came back with it
    EXPECT_NE(next, pid);
    pid = next;
    runtime = Runtime();
    EXPECT_EQ(runtime.restarts(), ++restarts);
    EXPECT_NE(runtime.last_exit().find(fault.says), std::string::npos) << runtime.last_exit();
  }

  // A hang: the caller's deadline ends the call; the process is killed as hung and restarted.
  grpc::Status hung = Misbehave(kOfficeA, "hang", nullptr, absl::Seconds(1));
  EXPECT_EQ(hung.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << hung.error_message();
  for (int i = 0; i < 300 && Runtime().restarts() == restarts; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(Runtime().last_exit().find("hung"), std::string::npos) << Runtime().last_exit();
  EXPECT_NE(AnswersAgain(kOfficeA), pid);

  auto metrics = HttpGet(engine_->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_NE(metrics->find("kaigo_plugin_restarts_total{plugin=\"faulty\"} 6"), std::string::npos)
      << *metrics;
}

TEST_F(IsolationTest, CrashLoopOpensTheBreakerUntilATrialSucceeds) {
  ASSERT_NE(AnswersAgain(kOfficeA), 0);
  // Three crashes with no call finished in between. Until a new process takes calls, a call
  // fails fast without reaching it ("is restarting"); the crash itself says "stopped".
  for (int crash = 1; crash <= 3; ++crash) {
    SCOPED_TRACE(crash);
    grpc::Status status;
    for (int i = 0; i < 600; ++i) {
      status = Misbehave(kOfficeA, "segfault");
      if (status.error_message().find("stopped (killed by signal 11") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_NE(status.error_message().find("stopped (killed by signal 11"), std::string::npos)
        << status.error_message();
  }
  v1::PluginRuntime runtime = Runtime();
  EXPECT_EQ(runtime.state(), v1::PLUGIN_STATE_FAILING) << runtime.last_exit();
  grpc::Status fast = Misbehave(kOfficeB, "");
  if (!fast.ok()) {
    EXPECT_EQ(fast.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_NE(fast.error_message().find("plugin faulty"), std::string::npos);
  }
  ASSERT_NE(AnswersAgain(kOfficeB), 0);  // the trial call
  EXPECT_EQ(Runtime().state(), v1::PLUGIN_STATE_RUNNING);
}

TEST_F(IsolationTest, ReloadAndSwapStartANewProcessBesideTheOld) {
  int first = AnswersAgain(kOfficeA);
  ASSERT_NE(first, 0);
  // New limits: a new process for the new instances; the old one drains and ends.
  dir_.Write("engine.yaml", Config(300));
  v1::ReloadConfigResponse reloaded;
  grpc::ClientContext reload;
  auto status = admin_->ReloadConfig(&reload, {}, &reloaded);
  ASSERT_TRUE(status.ok()) << status.error_message();
  int second = AnswersAgain(kOfficeA);
  EXPECT_NE(second, first);
  EXPECT_EQ(Runtime().pid(), second);
  for (int i = 0; i < 100 && kill(first, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(kill(first, 0), 0) << "the drained process has ended";

  // A swap to another build of the image: the same.
  std::filesystem::create_directories(dir_.path() + "/v2");
  std::filesystem::copy_file(PluginDir() + "/faulty.so", dir_.path() + "/v2/faulty.so");
  v1::SwapPluginRequest swap;
  swap.set_name("faulty");
  swap.set_path(dir_.path() + "/v2/faulty.so");
  v1::SwapPluginResponse swapped;
  grpc::ClientContext swap_context;
  status = admin_->SwapPlugin(&swap_context, swap, &swapped);
  ASSERT_TRUE(status.ok()) << status.error_message();
  int third = AnswersAgain(kOfficeB);
  EXPECT_NE(third, second);
  EXPECT_EQ(Runtime().state(), v1::PLUGIN_STATE_RUNNING);
}

}  // namespace
}  // namespace kaigo::testing

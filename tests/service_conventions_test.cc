// What a service manager and a metrics scraper expect of the engine, against a real engine:
// systemd's notification protocol (READY=1 once it listens, WATCHDOG=1 at half the watchdog
// timeout, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1), /metrics that
// `promtool check metrics` accepts after real calls, and `kaigo-bridge health-probe` (the image's
// HEALTHCHECK) answering 0 while it serves and 1 once it has gone.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "kaigo/test/v1/probe.grpc.pb.h"
#include "tests/support/test_env.h"

namespace {

using kaigo::testing::EngineProcess;
using kaigo::testing::TempDir;

const std::string kOffice = kaigo::testing::Office("137100001");

// A datagram socket standing in for the service manager's.
class FakeManager {
 public:
  explicit FakeManager(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~FakeManager() { close(fd_); }
  // The next state that contains `wanted`, skipping others (watchdog pings arrive throughout);
  // "" when none came within 10 s.
  std::string WaitFor(const std::string& wanted) {
    char buf[1024];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return "";
      std::string state(buf, static_cast<size_t>(n));
      if (absl::StrContains(state, wanted)) return state;
    }
  }

 private:
  std::string path_;
  int fd_;
};

std::string Promtool(const std::string& text, int* status) {
  TempDir dir;
  std::string path = dir.Write("metrics.txt", text);
  FILE* pipe =
      popen((std::string(KAIGO_PROMTOOL) + " check metrics < " + path + " 2>&1").c_str(), "r");
  std::string said;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) said.append(buf, n);
  *status = pclose(pipe);
  return said;
}

TEST(ServiceConventionsTest, NotifiesTheManagerAndServesValidMetrics) {
  ASSERT_FALSE(std::string(KAIGO_PROMTOOL).empty()) << "promtool: run scripts/install-deps.sh";
  TempDir dir;
  FakeManager manager(dir.path() + "/notify.sock");
  std::string config =
      "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n"
      "  metrics_listen: 127.0.0.1:0\n  health_listen: 127.0.0.1:" +
      std::to_string(kaigo::testing::FreeLoopbackPort()) +
      "\nplugins:\n  - {name: probe, path: " + kaigo::testing::PluginDir() +
      "/probe.so}\noffices:\n  - number: \"" + kOffice +
      "\"\n    concerns:\n      - {service: kaigo.test.v1.ProbeService, "
      "plugin: probe}\n";
  setenv("NOTIFY_SOCKET", (dir.path() + "/notify.sock").c_str(), 1);
  setenv("WATCHDOG_USEC", "400000", 1);
  std::string config_path = dir.Write("engine.yaml", config);
  auto engine = EngineProcess::Start(config_path);
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(engine.ok()) << engine.status();

  EXPECT_NE(manager.WaitFor("READY=1"), "");
  EXPECT_NE(manager.WaitFor("WATCHDOG=1"), "") << "fed every 200 ms";

  auto stub =
      kaigo::test::v1::ProbeService::NewStub(kaigo::testing::InsecureChannel((*engine)->target()));
  grpc::ClientContext context;
  context.AddMetadata("x-kaigo-office", kOffice);
  kaigo::test::v1::EchoResponse echoed;
  ASSERT_TRUE(stub->Echo(&context, {}, &echoed).ok());
  auto metrics = kaigo::testing::HttpGet((*engine)->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_TRUE(absl::StrContains(*metrics, "kaigo_build_info{version=\"")) << *metrics;
  EXPECT_TRUE(absl::StrContains(*metrics, "process_resident_memory_bytes ")) << *metrics;
  int status = -1;
  std::string said = Promtool(*metrics, &status);
  EXPECT_EQ(status, 0) << said << "\n" << *metrics;

  std::string probe = kaigo::testing::EngineBinary() + " health-probe --config " + config_path;
  auto serving = kaigo::testing::RunCommand(probe);
  EXPECT_EQ(serving.exit_code, 0) << serving.output;
  EXPECT_EQ(serving.output, "SERVING\n");

  (*engine)->Signal(SIGHUP);
  EXPECT_NE(manager.WaitFor("RELOADING=1"), "");
  EXPECT_NE(manager.WaitFor("READY=1"), "") << "ready again after the reload";
  (*engine)->Signal(SIGTERM);
  EXPECT_NE(manager.WaitFor("STOPPING=1"), "");
  (*engine)->Stop();
  auto gone = kaigo::testing::RunCommand(probe + " --timeout-ms 500");
  EXPECT_EQ(gone.exit_code, 1) << gone.output;
}

}  // namespace

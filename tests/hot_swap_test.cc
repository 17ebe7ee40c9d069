// Hot swap under load: calls run without pause while otp_relay is swapped twice; none fails, a
// stream opened before the swap keeps running on the old instance, and an OTP request pending on
// the old instance is answered through the new one.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "kaigo/test/v1/probe.grpc.pb.h"
#include "kaigo/v1/engine.grpc.pb.h"
#include "kaigo/v1/otp.grpc.pb.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;
namespace fs = std::filesystem;

const std::string kOffice = Office("137100001");

std::string CopyPlugin(const TempDir& dir, const std::string& version) {
  fs::create_directories(dir.path() + "/" + version);
  std::string to = dir.path() + "/" + version + "/otp_relay.so";
  fs::copy_file(PluginDir() + "/otp_relay.so", to);
  return to;
}

TEST(HotSwapTest, SwappingTwiceUnderLoadFailsNoCall) {
  TempDir dir;
  std::string v1_path = CopyPlugin(dir, "v1");
  std::string v2_path = CopyPlugin(dir, "v2");
  std::string v3_path = CopyPlugin(dir, "v3");
  std::string config =
      "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n  admin_socket: admin.sock\n"
      // RequestOtp is for other concerns only; here the test stands for the concern that asks.
      "access:\n  - {method: /kaigo.v1.OtpService/RequestOtp, policy: {roles: [office_admin]}}\n"
      "plugin_dirs: [\"" +
      dir.path() + "\", \"" + PluginDir() +
      "\"]\n"
      "plugins:\n  - {name: otp_relay, path: " +
      v1_path +
      "}\n"
      "  - {name: probe, path: " +
      PluginDir() +
      "/probe.so}\n"
      "offices:\n  - number: \"" +
      kOffice +
      "\"\n    concerns:\n"
      "      - {service: kaigo.v1.OtpService, plugin: otp_relay}\n"
      "      - {service: kaigo.test.v1.ProbeService, plugin: probe}\n"
      "store:\n  sqlite_path: state.db\nlog:\n  level: warn\n";
  auto engine = EngineProcess::Start(dir.Write("engine.yaml", config));
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto channel = InsecureChannel((*engine)->target());
  auto otp = v1::OtpService::NewStub(channel);
  auto admin =
      v1::EngineAdminService::NewStub(InsecureChannel("unix:" + dir.path() + "/admin.sock"));

  // A request pending on the v1 instance, answered after two swaps.
  auto waiting = std::async(std::launch::async, [&] {
    v1::RequestOtpRequest request;
    request.set_purpose(v1::OTP_PURPOSE_PORTAL_LOGIN);
    v1::RequestOtpResponse response;
    auto status = otp->RequestOtp(Context(kOffice, absl::Seconds(30)).get(), request, &response);
    return std::make_pair(status, response.code());
  });
  // A stream opened on v1.
  auto watch_context = Context(kOffice, absl::Seconds(30));
  auto watch = otp->WatchPending(watch_context.get(), {});
  v1::WatchPendingResponse changed;
  ASSERT_TRUE(watch->Read(&changed)) << "the pending request shows on the stream";

  std::atomic<bool> stop{false};
  std::atomic<int64_t> ok{0}, failed{0};
  std::vector<std::string> failures;
  std::mutex failures_mu;
  std::vector<std::thread> load;
  for (int i = 0; i < 4; ++i) {
    load.emplace_back([&] {
      auto stub = v1::OtpService::NewStub(channel);
      while (!stop) {
        v1::ListPendingResponse r;
        auto s = stub->ListPending(Context(kOffice).get(), {}, &r);
        if (s.ok()) {
          ++ok;
        } else {
          ++failed;
          std::lock_guard<std::mutex> lock(failures_mu);
          failures.push_back(s.error_message());
        }
      }
    });
  }
  for (const auto& path : {v2_path, v3_path}) {
    absl::SleepFor(absl::Milliseconds(500));
    v1::SwapPluginRequest swap;
    swap.set_name("otp_relay");
    swap.set_path(path);
    v1::SwapPluginResponse swapped;
    auto s = admin->SwapPlugin(Context("", absl::Seconds(20)).get(), swap, &swapped);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(swapped.bindings_moved(), 1);
  }
  absl::SleepFor(absl::Milliseconds(500));
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_EQ(failed.load(), 0) << (failures.empty() ? "" : failures.front());
  EXPECT_GT(ok.load(), 100);
  std::cout << "calls during two swaps: " << ok.load() << " ok, " << failed.load() << " failed\n";

  // The old stream still runs; the answer given through v3 reaches the request waiting on v1.
  v1::ListPendingResponse pending;
  ASSERT_TRUE(otp->ListPending(Context(kOffice).get(), {}, &pending).ok());
  ASSERT_EQ(pending.pending_size(), 1);
  v1::ProvideOtpRequest provide;
  provide.set_otp_id(pending.pending(0).otp_id());
  provide.set_code("551177");
  v1::ProvideOtpResponse provided;
  ASSERT_TRUE(otp->ProvideOtp(Context(kOffice).get(), provide, &provided).ok());
  auto [status, code] = waiting.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(code, "551177");
  ASSERT_TRUE(watch->Read(&changed));
  EXPECT_EQ(changed.event().kind(), v1::PendingOtpEvent::KIND_ANSWERED);
  watch_context->TryCancel();
  watch->Finish();

  v1::ListPluginsResponse plugins;
  ASSERT_TRUE(admin->ListPlugins(Context("").get(), {}, &plugins).ok());
  int active = 0;
  for (const auto& p : plugins.plugins()) {
    if (p.name() != "otp_relay") continue;
    if (p.active()) {
      ++active;
      EXPECT_EQ(p.path(), fs::canonical(v3_path).string());
    }
  }
  EXPECT_EQ(active, 1);

  // A plugin with its own compiled protos cannot be loaded twice: refused, engine unharmed.
  fs::create_directories(dir.path() + "/probe2");
  fs::copy_file(PluginDir() + "/probe.so", dir.path() + "/probe2/probe.so");
  v1::SwapPluginRequest swap;
  swap.set_name("probe");
  swap.set_path(dir.path() + "/probe2/probe.so");
  v1::SwapPluginResponse swapped;
  auto refused = admin->SwapPlugin(Context("", absl::Seconds(20)).get(), swap, &swapped);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("kaigo/test/v1/probe.proto"), std::string::npos)
      << refused.error_message();
  ASSERT_TRUE(otp->ListPending(Context(kOffice).get(), {}, &pending).ok());
}

// An image is loaded only from the plugin directories, only if nobody but root or the engine's
// user can change it, and, where the configuration asks, only with its pin — checked before the
// image is opened (opening it runs its code).
TEST(HotSwapTest, SwapsFromUnsafePlacesAreRefusedBeforeLoading) {
  TempDir dir;
  fs::create_directories(dir.path() + "/plugins/safe");
  fs::create_directories(dir.path() + "/plugins/shared");
  fs::create_directories(dir.path() + "/elsewhere");
  fs::permissions(dir.path() + "/plugins/shared", fs::perms::all);  // world-writable
  std::string installed = dir.path() + "/plugins/otp_relay.so";
  fs::copy_file(PluginDir() + "/otp_relay.so", installed);
  for (const char* to :
       {"/plugins/safe/otp_relay.so", "/plugins/shared/otp_relay.so", "/elsewhere/otp_relay.so"}) {
    fs::copy_file(PluginDir() + "/otp_relay.so", dir.path() + to);
  }
  CommandResult sum = RunCommand("sha256sum " + installed);
  ASSERT_EQ(sum.exit_code, 0) << sum.output;
  std::string pin = sum.output.substr(0, 64);
  std::string config =
      "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n  admin_socket: admin.sock\n"
      "plugin_dirs: [plugins]\nrequire_plugin_pins: true\n"
      "plugins:\n  - {name: otp_relay, path: plugins/otp_relay.so, sha256: " +
      pin + "}\noffices:\n  - number: \"" + kOffice +
      "\"\n    concerns:\n      - {service: kaigo.v1.OtpService, plugin: otp_relay}\n"
      "store:\n  sqlite_path: state.db\n";
  auto engine = EngineProcess::Start(dir.Write("engine.yaml", config));
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto admin =
      v1::EngineAdminService::NewStub(InsecureChannel("unix:" + dir.path() + "/admin.sock"));
  auto swap = [&](const std::string& path, const std::string& sha256) {
    v1::SwapPluginRequest request;
    request.set_name("otp_relay");
    request.set_path(dir.path() + path);
    request.set_sha256(sha256);
    v1::SwapPluginResponse swapped;
    return admin->SwapPlugin(Context("", absl::Seconds(20)).get(), request, &swapped);
  };
  grpc::Status shared = swap("/plugins/shared/otp_relay.so", pin);
  EXPECT_EQ(shared.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(shared.error_message(),
            "refusing " + dir.path() + "/plugins/shared: writable by others than its owner");
  grpc::Status outside = swap("/elsewhere/otp_relay.so", pin);
  EXPECT_EQ(outside.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(outside.error_message(), "refusing " + dir.path() +
                                         "/elsewhere/otp_relay.so: not in a plugin directory of "
                                         "this engine (" +
                                         dir.path() + "/plugins)");
  grpc::Status unpinned = swap("/plugins/safe/otp_relay.so", "");
  EXPECT_EQ(unpinned.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(unpinned.error_message(), "refusing " + dir.path() +
                                          "/plugins/safe/otp_relay.so: this engine loads only "
                                          "pinned images (sha256)");
  grpc::Status pinned = swap("/plugins/safe/otp_relay.so", pin);
  EXPECT_TRUE(pinned.ok()) << pinned.error_message();
}

}  // namespace
}  // namespace kaigo::testing

namespace kaigo::testing {
namespace {

// Methods registered at start take gRPC's raw callback path; a plugin added later by a reload is
// served through the generic service. Both kinds of method must work there too.
TEST(HotSwapTest, PluginAddedByReloadIsServedThroughTheGenericPath) {
  TempDir dir;
  std::string head =
      "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n  admin_socket: admin.sock\n"
      "plugins:\n  - {name: otp_relay, path: " +
      PluginDir() + "/otp_relay.so}\n";
  std::string office = "offices:\n  - number: \"" + kOffice +
                       "\"\n    concerns:\n"
                       "      - {service: kaigo.v1.OtpService, plugin: otp_relay}\n";
  std::string path = dir.Write("engine.yaml", head + office);
  auto engine = EngineProcess::Start(path);
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto channel = InsecureChannel((*engine)->target());

  dir.Write("engine.yaml", head + "  - {name: probe, path: " + PluginDir() + "/probe.so}\n" +
                               office +
                               "      - {service: kaigo.test.v1.ProbeService, plugin: probe}\n");
  v1::ReloadConfigResponse reloaded;
  auto admin =
      v1::EngineAdminService::NewStub(InsecureChannel("unix:" + dir.path() + "/admin.sock"));
  auto status = admin->ReloadConfig(Context("").get(), {}, &reloaded);
  ASSERT_TRUE(status.ok()) << status.error_message();

  auto probe = kaigo::test::v1::ProbeService::NewStub(channel);
  kaigo::test::v1::EchoRequest echo;
  echo.set_payload("after reload");
  kaigo::test::v1::EchoResponse echoed;
  status = probe->Echo(Context(kOffice).get(), echo, &echoed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(echoed.payload(), "after reload");

  kaigo::test::v1::CountRequest count;
  count.set_count(20);
  auto context = Context(kOffice);
  auto reader = probe->Count(context.get(), count);
  kaigo::test::v1::CountResponse message;
  int n = 0;
  while (reader->Read(&message)) ++n;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(n, 20);
}

}  // namespace
}  // namespace kaigo::testing

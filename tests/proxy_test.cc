// An office behind an HTTP proxy: the qualification plugin reaches the sandbox through a CONNECT
// tunnel of the configured `platform.proxy`, with the proxy's credentials from the office's
// secret (the proxy refuses requests without them), and nothing through the environment's proxy;
// an office whose proxy does not answer gets UNAVAILABLE, and the engine lives.
#include <gtest/gtest.h>

#include "kaigo/v1/qualification.grpc.pb.h"
#include "tests/support/connect_proxy.h"
#include "tests/support/into.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;

constexpr char kSakura[] = "1371000017";  // behind the proxy
constexpr char kMidori[] = "1312345670";  // behind a proxy that is not there

TEST(ProxyTest, ThePlatformIsReachedThroughTheConfiguredProxyOnly) {
  auto proxy = ConnectProxy::Start("sakura-office:proxy#pass");
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  // A proxy in the environment that must not be used: it would refuse every request.
  auto environment_proxy = ConnectProxy::Start("nobody:never");
  ASSERT_TRUE(environment_proxy.ok()) << environment_proxy.status();
  setenv("https_proxy", (*environment_proxy)->url().c_str(), 1);
  int closed_port = FreeLoopbackPort();
  auto stack = PlatformStack::Start(
      {"qualification"}, [&](const SandboxProcess& sandbox, const TempDir& dir) {
        std::vector<PlatformBinding> bindings = {
            {"kaigo.v1.QualificationService", "qualification", {"cache_ttl_seconds: 0"}}};
        std::string credentials = dir.Write("secrets/proxy", "sakura-office:proxy#pass\n");
        return PlatformOfficeYaml(
                   sandbox, dir, kSakura, "sakura-cm", "Sakura#2026", bindings,
                   {{"proxy_credentials", credentials}},
                   {"proxy: " + (*proxy)->url(), "proxy_credentials_secret: proxy_credentials"}) +
               PlatformOfficeYaml(sandbox, dir, kMidori, "midori-dr", "Midori#2026", bindings, {},
                                  {"proxy: http://127.0.0.1:" + std::to_string(closed_port)});
      });
  unsetenv("https_proxy");
  ASSERT_TRUE(stack.ok()) << stack.status();
  auto stub = v1::QualificationService::NewStub(InsecureChannel((*stack)->engine->target()));

  v1::LookupByInsuredNumberRequest request;
  request.mutable_insurer()->set_value("131011");
  request.mutable_insured()->set_value("0000100001");
  v1::QualificationResult result;
  grpc::Status through =
      stub->LookupByInsuredNumber(Context(kSakura).get(), request, Into(&result));
  ASSERT_TRUE(through.ok()) << through.error_message();
  std::string sandbox_authority = (*stack)->sandbox->base_url().substr(strlen("https://"));
  auto tunnels = (*proxy)->tunnels();
  ASSERT_FALSE(tunnels.empty());
  for (const auto& t : tunnels) EXPECT_EQ(t, sandbox_authority);
  EXPECT_EQ((*proxy)->refused(), 0) << "the credentials came from the office's secret";
  EXPECT_TRUE((*environment_proxy)->tunnels().empty());
  EXPECT_EQ((*environment_proxy)->refused(), 0) << "the environment's proxy was asked";

  grpc::Status no_proxy =
      stub->LookupByInsuredNumber(Context(kMidori).get(), request, Into(&result));
  EXPECT_EQ(no_proxy.error_code(), grpc::StatusCode::UNAVAILABLE) << no_proxy.error_message();
  grpc::Status again = stub->LookupByInsuredNumber(Context(kSakura).get(), request, Into(&result));
  EXPECT_TRUE(again.ok()) << "the engine lives: " << again.error_message();
}

}  // namespace
}  // namespace kaigo::testing

// The one manifest check (kaigo/sdk/internal/manifest_check.h): a definition's manifest passes
// with its methods and settings type; each rule, broken alone, is reported and is the status;
// tables that are not ABI version 1's are refused.
#include "kaigo/sdk/internal/manifest_check.h"

#include <gtest/gtest.h>

#include "kaigo/plugins/v1/otp_relay_config.pb.h"
#include "kaigo/sdk/plugin_definition.h"

namespace kaigo::sdk::internal {
namespace {

// The manifest of an exported definition serving kaigo.v1.OtpService.
ImageManifest Good() {
  PluginManifest m;
  m.name = "otp_relay";
  m.version = "1.0.0";
  m.status = "stable";
  m.services = {"kaigo.v1.OtpService"};
  m.calls = {"/kaigo.v1.CardReaderService/AuthenticateHolder"};
  auto create =
      [](HostServices host, const InstanceContext&,
         kaigo::plugins::v1::OtpRelayConfig) -> absl::StatusOr<std::unique_ptr<Instance>> {
    return std::make_unique<Instance>(std::move(host));
  };
  static const kaigo_plugin_api* api = ExportPlugin(
      DefinePlugin<kaigo::plugins::v1::OtpRelayConfig>(std::move(m), std::move(create)));
  EXPECT_TRUE(CheckPluginTable(api).ok());
  return ReadManifest(*api->manifest);
}

TEST(ManifestCheckTest, AnExportedManifestPasses) {
  ImageManifest m = Good();
  EXPECT_EQ(m.calls, std::vector<std::string>{"/kaigo.v1.CardReaderService/AuthenticateHolder"});
  EXPECT_EQ(m.api_release, KAIGO_API_RELEASE);
  int reported = 0;
  CheckedManifest checked = CheckManifest(m, [&](const ManifestFinding& f) {
    ++reported;
    EXPECT_TRUE(f.passed) << f.rule;
  });
  ASSERT_TRUE(checked.status.ok()) << checked.status;
  EXPECT_GE(reported, 7);
  ASSERT_TRUE(checked.descriptors_built);
  ASSERT_NE(checked.config_type, nullptr);
  EXPECT_EQ(checked.config_type->full_name(), "kaigo.plugins.v1.OtpRelayConfig");
  bool streaming = false;
  for (const auto& method : checked.methods) {
    if (method.path == "/kaigo.v1.OtpService/WatchPending") streaming = method.server_streaming;
  }
  EXPECT_TRUE(streaming);
}

TEST(ManifestCheckTest, EachRuleBrokenAloneIsTheStatus) {
  struct Case {
    void (*Break)(ImageManifest&);
    std::string failure;
  };
  std::vector<Case> cases = {
      {[](ImageManifest& m) { m.name = "Otp-Relay"; }, "name 'Otp-Relay' is not [a-z0-9_]+"},
      {[](ImageManifest& m) { m.version = "1"; }, "version '1' is not a semantic version"},
      {[](ImageManifest& m) { m.status = "beta"; }, "status 'beta' is not stable, alpha"},
      {[](ImageManifest& m) { m.services.clear(); }, "lists no service"},
      {[](ImageManifest& m) { m.services.push_back("acme.v1.Nowhere"); },
       "service acme.v1.Nowhere is not in the manifest's descriptors"},
      {[](ImageManifest& m) { m.config_type = "acme.v1.Nothing"; },
       "config type acme.v1.Nothing is not in the manifest's descriptors"},
      {[](ImageManifest& m) { m.file_descriptor_set = "\xff\xff"; }, "descriptors do not parse"},
  };
  for (const Case& c : cases) {
    ImageManifest m = Good();
    c.Break(m);
    int failed = 0;
    CheckedManifest checked = CheckManifest(m, [&](const ManifestFinding& f) {
      if (!f.passed) ++failed;
    });
    EXPECT_EQ(checked.status.code(), absl::StatusCode::kInvalidArgument) << c.failure;
    EXPECT_NE(checked.status.message().find(c.failure), std::string::npos)
        << checked.status << " lacks " << c.failure;
    EXPECT_EQ(failed, 1) << c.failure;
  }
}

TEST(ManifestCheckTest, EveryRuleIsAppliedAfterOneFails) {
  ImageManifest m = Good();
  m.version = "1";
  m.services.push_back("acme.v1.Nowhere");
  std::vector<std::string> failed;
  CheckedManifest checked = CheckManifest(m, [&](const ManifestFinding& f) {
    if (!f.passed) failed.push_back(f.rule);
  });
  EXPECT_EQ(failed, (std::vector<std::string>{"manifest version '1' is a semantic version",
                                              "service acme.v1.Nowhere is declared in the "
                                              "descriptors"}));
  EXPECT_TRUE(checked.descriptors_built);
  EXPECT_NE(checked.status.message().find("semantic version"), std::string::npos);
  EXPECT_FALSE(checked.methods.empty());  // OtpService's still listed
}

TEST(ManifestCheckTest, TablesOfAnotherAbiAreRefused) {
  EXPECT_EQ(CheckPluginTable(nullptr).code(), absl::StatusCode::kFailedPrecondition);
  kaigo_plugin_api api{};
  api.struct_size = sizeof(kaigo_plugin_api);
  api.abi_version = KAIGO_ABI_VERSION + 1;
  EXPECT_EQ(CheckPluginTable(&api).code(), absl::StatusCode::kFailedPrecondition);
  api.abi_version = KAIGO_ABI_VERSION;
  api.struct_size = offsetof(kaigo_plugin_api, call_cancel);
  EXPECT_EQ(CheckPluginTable(&api).code(), absl::StatusCode::kFailedPrecondition);
  api.struct_size = sizeof(kaigo_plugin_api);
  EXPECT_NE(CheckPluginTable(&api).message().find("no complete manifest"), std::string::npos);
}

}  // namespace
}  // namespace kaigo::sdk::internal

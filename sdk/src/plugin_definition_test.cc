// The export honours every definition: two in one image each keep their manifest and their own
// factory; internal::Export is once per define function; DefinePlugin parses the settings before
// the plugin's factory and refuses a service the image lacks.
#include "kaigo/sdk/plugin_definition.h"

#include <gtest/gtest.h>

#include <string>

#include "kaigo/plugins/v1/otp_relay_config.pb.h"
#include "kaigo/sdk/fake_host.h"

namespace kaigo::sdk {
namespace {

using kaigo::plugins::v1::OtpRelayConfig;
using testing::FakeHost;

// A definition whose instances report to `created` the settings they were made with.
PluginDefinition Recording(std::string name, std::vector<std::string>* created,
                           std::vector<std::string> services = {"kaigo.v1.OtpService"}) {
  PluginManifest m;
  m.name = std::move(name);
  m.version = "1.0.0";
  m.services = std::move(services);
  std::string label = m.name;
  auto create = [created, label](
                    HostServices host, const InstanceContext&,
                    OtpRelayConfig config) -> absl::StatusOr<std::unique_ptr<Instance>> {
    created->push_back(label + ":" + std::to_string(config.max_pending()));
    return std::make_unique<Instance>(std::move(host));
  };
  return DefinePlugin<OtpRelayConfig>(std::move(m), std::move(create));
}

TEST(PluginDefinitionTest, TwoDefinitionsInOneImageEachServeTheirOwn) {
  std::vector<std::string> created;
  const kaigo_plugin_api* first = ExportPlugin(Recording("first", &created));
  const kaigo_plugin_api* second = ExportPlugin(Recording("second", &created));
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first, second);
  EXPECT_NE(first->create, second->create);
  EXPECT_STREQ(first->manifest->name, "first");
  EXPECT_STREQ(second->manifest->name, "second");
  EXPECT_STREQ(second->manifest->config_type, "kaigo.plugins.v1.OtpRelayConfig");
  EXPECT_STREQ(second->manifest->api_release, KAIGO_API_RELEASE);

  OtpRelayConfig settings;
  settings.set_max_pending(7);
  FakeHost a, b;
  ASSERT_TRUE(b.Load(second, settings.SerializeAsString()).ok());
  ASSERT_TRUE(a.Load(first).ok());
  EXPECT_EQ(created, (std::vector<std::string>{"second:7", "first:0"}));
}

PluginDefinition DefineOne() {
  static std::vector<std::string> created;
  return Recording("one", &created);
}
PluginDefinition DefineTwo() {
  static std::vector<std::string> created;
  return Recording("two", &created);
}

TEST(PluginDefinitionTest, InternalExportIsOncePerDefineFunction) {
  const kaigo_plugin_api* one = internal::Export(KAIGO_ABI_VERSION, &DefineOne);
  EXPECT_EQ(internal::Export(KAIGO_ABI_VERSION, &DefineOne), one);
  const kaigo_plugin_api* two = internal::Export(KAIGO_ABI_VERSION, &DefineTwo);
  ASSERT_NE(two, nullptr);
  EXPECT_NE(two, one);
  EXPECT_STREQ(two->manifest->name, "two");
  EXPECT_EQ(internal::Export(KAIGO_ABI_VERSION + 1, &DefineOne), nullptr);
}

TEST(PluginDefinitionTest, SettingsThatDoNotParseFailTheCreation) {
  std::vector<std::string> created;
  FakeHost host;
  absl::Status loaded = host.Load(ExportPlugin(Recording("bad_settings", &created)), "\xff\xff");
  EXPECT_EQ(loaded.code(), absl::StatusCode::kInvalidArgument) << loaded;
  EXPECT_NE(loaded.message().find("kaigo.plugins.v1.OtpRelayConfig"), std::string::npos);
  EXPECT_TRUE(created.empty());
}

TEST(PluginDefinitionTest, AServiceNotInTheImageFailsTheCreation) {
  std::vector<std::string> created;
  FakeHost host;
  absl::Status loaded =
      host.Load(ExportPlugin(Recording("missing", &created, {"acme.v1.NotLinkedService"})));
  EXPECT_EQ(loaded.code(), absl::StatusCode::kFailedPrecondition) << loaded;
  EXPECT_NE(loaded.message().find("acme.v1.NotLinkedService"), std::string::npos);
  EXPECT_TRUE(created.empty());
}

}  // namespace
}  // namespace kaigo::sdk

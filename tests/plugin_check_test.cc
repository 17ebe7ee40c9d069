// kaigo-plugin-check passes every in-tree plugin and fails a deliberately broken one, saying why.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "kaigo/sdk/api_release.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

CommandResult CheckPlugin(const std::string& name) {
  return RunCommand(BuildDir() + "/sdk/kaigo-plugin-check " + PluginDir() + "/" + name + ".so");
}

TEST(PluginCheckTest, InTreePluginsPass) {
  for (const char* name : {"otp_relay", "probe"}) {
    CommandResult r = CheckPlugin(name);
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << r.output;
    EXPECT_NE(r.output.find("PASS"), std::string::npos) << r.output;
  }
}

TEST(PluginCheckTest, PlatformPluginsPassWhenGivenTheirSettings) {
  for (const char* plugin : {"qualification", "certification"}) {
    std::string base = BuildDir() + "/sdk/kaigo-plugin-check " + PluginDir() + "/" + plugin + ".so";
    CommandResult bare = RunCommand(base);
    EXPECT_EQ(bare.exit_code, 1);
    EXPECT_NE(bare.output.find("FAIL  create an instance: platform.base_url: required"),
              std::string::npos)
        << bare.output;
    CommandResult given = RunCommand(
        base +
        " --settings 'platform { base_url: \"https://127.0.0.1:1\" ca_secret: \"ca\" "
        "certificate_secret: \"p12\" certificate_password_secret: \"pw\" user_id_secret: "
        "\"user\" password_secret: \"password\" }' --secret ca=x --secret p12=x --secret pw=x "
        "--secret user=x --secret password=x");
    EXPECT_EQ(given.exit_code, 0) << given.output;
  }
}

TEST(PluginCheckTest, SubsidyPluginNeedsItsRulesFile) {
  std::string base = BuildDir() + "/sdk/kaigo-plugin-check " + PluginDir() + "/subsidy_filing.so";
  const std::string platform =
      "platform { base_url: \"https://127.0.0.1:1\" ca_secret: \"ca\" certificate_secret: "
      "\"p12\" certificate_password_secret: \"pw\" user_id_secret: \"user\" password_secret: "
      "\"password\" }' --secret ca=x --secret p12=x --secret pw=x --secret user=x "
      "--secret password=x";
  CommandResult bare = RunCommand(base + " --settings '" + platform);
  EXPECT_EQ(bare.exit_code, 1);
  EXPECT_NE(bare.output.find("rules_file: the subsidy rules file is required"), std::string::npos)
      << bare.output;
  CommandResult given = RunCommand(base + " --settings 'rules_file: \"" + SourceDir() +
                                   "/deploy/subsidy/subsidy-rules.yaml\" " + platform);
  EXPECT_EQ(given.exit_code, 0) << given.output;
}

TEST(PluginCheckTest, BrokenPluginFailsWithReasons) {
  CommandResult r = CheckPlugin("broken");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  for (const char* reason :
       {"FAIL  manifest version '1' is a semantic version",
        "FAIL  service kaigo.test.v1.NotDeclaredService is declared in the descriptors",
        "FAIL  the plugin crashed (signal 11) while handling /kaigo.v1.OtpService/RequestOtp "
        "(invalid wire type)",
        "FAILED"}) {
    EXPECT_NE(r.output.find(reason), std::string::npos) << reason << "\nin\n" << r.output;
  }
}

TEST(PluginCheckTest, PrintsTheReleasesAPluginWasBuiltWith) {
  CommandResult sdk_plugin = CheckPlugin("probe");
  EXPECT_EQ(sdk_plugin.exit_code, 0) << sdk_plugin.output;
  EXPECT_NE(sdk_plugin.output.find(absl::StrCat(
                "built with kaigo SDK ", sdk::kSdkVersion, ", kaigo API ", sdk::kApiRelease,
                "; this SDK: ", sdk::kSdkVersion, ", kaigo API ", sdk::kApiRelease)),
            std::string::npos)
      << sdk_plugin.output;
  EXPECT_NE(
      sdk_plugin.output.find(absl::StrCat("ok    manifest kaigo API release ", sdk::kApiRelease,
                                          " is this SDK's ", sdk::kProtoSoname)),
      std::string::npos)
      << sdk_plugin.output;

  CommandResult plain_c = CheckPlugin("faulty");
  EXPECT_NE(plain_c.output.find("built with kaigo SDK (not stated), kaigo API (none)"),
            std::string::npos)
      << plain_c.output;
  EXPECT_NE(plain_c.output.find("ok    the manifest names no kaigo API release"), std::string::npos)
      << plain_c.output;
}

TEST(PluginCheckTest, PluginOfAnotherApiReleaseFailsNamingBoth) {
  auto refusal = [](const std::string& plugin, const std::string& built) {
    return absl::StrCat("FAIL  plugin \"", plugin, "\" was built against kaigo API ", built,
                        "; this SDK serves kaigo API ", sdk::kApiRelease, " (", sdk::kProtoSoname,
                        ") — rebuild the plugin with the kaigo SDK ", sdk::kSdkVersion);
  };
  CommandResult linked = CheckPlugin("stale_linked");
  EXPECT_EQ(linked.exit_code, 1) << linked.output;
  EXPECT_NE(linked.output.find(refusal("stale_linked", "0.9 (libkaigo_proto.so.0.9)")),
            std::string::npos)
      << linked.output;
  CommandResult manifest = CheckPlugin("stale_manifest");
  EXPECT_EQ(manifest.exit_code, 1) << manifest.output;
  EXPECT_NE(manifest.output.find("built with kaigo SDK 0.9.0, kaigo API 0.9.0"), std::string::npos)
      << manifest.output;
  EXPECT_NE(manifest.output.find(refusal("stale", "0.9.0 (libkaigo_proto.so.0.9)")),
            std::string::npos)
      << manifest.output;
}

TEST(PluginCheckTest, NotAPlugin) {
  TempDir dir;
  std::string path = dir.Write("junk.so", "not an ELF file");
  CommandResult r = RunCommand(BuildDir() + "/sdk/kaigo-plugin-check " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("FAIL  load"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kaigo::testing

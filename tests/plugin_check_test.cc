// kaigo-plugin-check passes every in-tree plugin and fails a deliberately broken one, saying why.
#include <gtest/gtest.h>

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

TEST(PluginCheckTest, NotAPlugin) {
  TempDir dir;
  std::string path = dir.Write("junk.so", "not an ELF file");
  CommandResult r = RunCommand(BuildDir() + "/sdk/kaigo-plugin-check " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("FAIL  load"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kaigo::testing

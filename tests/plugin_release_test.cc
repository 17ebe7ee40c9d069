// The API release a plugin was built against, end to end: the engine refuses a plugin built
// against another release of the kaigo API — one that links another libkaigo_proto (before
// loading it) and one whose manifest names another release — naming both releases, in process
// and isolated; a plain-C plugin that states none loads; a plugin the SDK builds states the SDK
// version and the API release, and the engine logs them.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "kaigo/sdk/api_release.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

using sdk::kApiRelease;
using sdk::kProtoSoname;
using sdk::kSdkVersion;

const std::string kOffice = Office("137100001");

std::string Config(const std::string& plugin, const std::string& file, const std::string& extra,
                   const std::string& service) {
  return "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\nplugins:\n  - name: " +
         plugin + "\n    path: " + PluginDir() + "/" + file + "\n" + extra +
         "offices:\n  - number: \"" + kOffice + "\"\n    concerns:\n      - service: " + service +
         "\n        plugin: " + plugin + "\nstore:\n  sqlite_path: state.db\n";
}

std::string StaleConfig(const std::string& file, bool isolated) {
  return Config("stale", file, isolated ? "    isolation: process\n" : "", "kaigo.v1.OtpService");
}

// What the engine says of the stale plugin, whose stand-in libkaigo_proto is of release 0.9 and
// whose manifest names 0.9.0; `built` is what it knows of the plugin's release.
std::string Refusal(const std::string& built) {
  return absl::StrCat("plugin \"stale\" was built against kaigo API ", built,
                      "; this engine serves kaigo API ", kApiRelease, " (", kProtoSoname,
                      ") — rebuild the plugin with the kaigo SDK ", kSdkVersion);
}

CommandResult CheckConfig(const TempDir& dir, const std::string& yaml) {
  return RunCommand(EngineBinary() + " check-config " + dir.Write("engine.yaml", yaml));
}

CommandResult Serve(const TempDir& dir, const std::string& yaml) {
  // Refused at start, so it exits; `timeout` only bounds a regression.
  return RunCommand("cd " + dir.path() + " && timeout 60 " + EngineBinary() + " serve --config " +
                    dir.Write("engine.yaml", yaml));
}

TEST(PluginReleaseTest, ImageLinkingAnotherProtoLibraryIsRefusedBeforeLoading) {
  TempDir dir;
  CommandResult r = CheckConfig(dir, StaleConfig("stale_linked.so", false));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Refusal("0.9 (libkaigo_proto.so.0.9)")), std::string::npos) << r.output;
}

TEST(PluginReleaseTest, ManifestNamingAnotherReleaseIsRefused) {
  TempDir dir;
  CommandResult r = CheckConfig(dir, StaleConfig("stale_manifest.so", false));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Refusal("0.9.0 (libkaigo_proto.so.0.9)")), std::string::npos) << r.output;
}

TEST(PluginReleaseTest, IsolatedImagesAreRefusedToo) {
  TempDir linked_dir;
  CommandResult linked = Serve(linked_dir, StaleConfig("stale_linked.so", true));
  EXPECT_NE(linked.exit_code, 0) << linked.output;
  EXPECT_NE(linked.output.find(Refusal("0.9 (libkaigo_proto.so.0.9)")), std::string::npos)
      << linked.output;

  // The engine never loads an isolated image: its process checks the manifest, says why on its
  // standard error (the engine's) and ends with the status the engine describes.
  TempDir manifest_dir;
  CommandResult manifest = Serve(manifest_dir, StaleConfig("stale_manifest.so", true));
  EXPECT_NE(manifest.exit_code, 0) << manifest.output;
  EXPECT_NE(manifest.output.find(Refusal("0.9.0 (libkaigo_proto.so.0.9)")), std::string::npos)
      << manifest.output;
  EXPECT_NE(manifest.output.find("plugin stale could not be started in a process of its own: was "
                                 "built against another release of the kaigo API"),
            std::string::npos)
      << manifest.output;
}

TEST(PluginReleaseTest, PlainCPluginThatStatesNoReleaseLoads) {
  TempDir dir;
  CommandResult r =
      CheckConfig(dir, Config("faulty", "faulty.so", "", "kaigo.test.v1.FaultService"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(PluginReleaseTest, SdkPluginStatesTheReleasesItWasBuiltWith) {
  TempDir dir;
  auto engine = EngineProcess::Start(
      dir.Write("engine.yaml", Config("otp_relay", "otp_relay.so", "", "kaigo.v1.OtpService")));
  ASSERT_TRUE(engine.ok()) << engine.status();
  std::string log = (*engine)->Log();
  size_t line_start = log.find("\"msg\":\"plugin image loaded\"");
  ASSERT_NE(line_start, std::string::npos) << log;
  std::string line = log.substr(line_start, log.find('\n', line_start) - line_start);
  EXPECT_NE(line.find("\"plugin\":\"otp_relay\""), std::string::npos) << line;
  EXPECT_NE(line.find(absl::StrCat("\"sdk_version\":\"", kSdkVersion, "\"")), std::string::npos)
      << line;
  EXPECT_NE(line.find(absl::StrCat("\"api_release\":\"", kApiRelease, "\"")), std::string::npos)
      << line;
}

}  // namespace
}  // namespace kaigo::testing

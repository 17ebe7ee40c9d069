// The configuration loader in process: a good file loads and passes, each rule that needs no
// plugin refuses a file naming file:line:column and the field path, and the address helpers.
// (tests/config_errors_test.cc runs the same through `kaigo-bridge check-config`.)
#include "engine/config/config_loader.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>

namespace kaigo::engine {
namespace {

class ConfigLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/config_loader_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    Write("otp_relay.so", "not an image: the loader only checks that it is there");
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string Header() const {
    return "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\nplugins:\n"
           "  - name: otp_relay\n    path: otp_relay.so\n";
  }
  static std::string Office(const std::string& number, const std::string& plugin = "otp_relay") {
    return "  - number: \"" + number +
           "\"\n    concerns:\n      - service: kaigo.v1.OtpService\n        plugin: " + plugin +
           "\n";
  }

  // The errors of loading and checking `yaml` as engine.yaml, one per line.
  std::string Errors(const std::string& yaml) {
    ConfigErrors errors;
    LoadedConfig loaded = LoadConfig(Write("engine.yaml", yaml), &errors);
    if (errors.empty()) ValidateConfig(loaded, &errors);
    return errors.Joined();
  }

  std::string dir_;
};

TEST_F(ConfigLoaderTest, AGoodFileLoadsWithItsPathsResolved) {
  ConfigErrors errors;
  LoadedConfig loaded =
      LoadConfig(Write("engine.yaml", Header() + "offices:\n" + Office("1371000017")), &errors);
  ASSERT_TRUE(errors.empty()) << errors.Joined();
  ValidateConfig(loaded, &errors);
  EXPECT_TRUE(errors.empty()) << errors.Joined();
  EXPECT_EQ(loaded.dir, dir_);
  EXPECT_EQ(loaded.Resolve("otp_relay.so"), dir_ + "/otp_relay.so");
  ASSERT_EQ(loaded.config.offices_size(), 1);
  EXPECT_EQ(loaded.config.offices(0).number(), "1371000017");
  EXPECT_EQ(loaded.Where("offices[0].number"), dir_ + "/engine.yaml:8:13");
}

TEST_F(ConfigLoaderTest, EachRuleNamesThePlaceAndTheField) {
  const std::string f = dir_ + "/engine.yaml";
  EXPECT_NE(Errors(Header() + "offices:\n" + Office("1371000018"))
                .find(f + ":8:13: offices[0].number: \"1371000018\": check digit is 8, "
                          "expected 7"),
            std::string::npos);
  EXPECT_NE(Errors(Header() + "offices:\n" + Office("1371000017") + Office("1371000017"))
                .find(f + ":12:13: offices[1].number: duplicate office 1371000017 (first at " + f +
                      ":8:13)"),
            std::string::npos);
  EXPECT_NE(Errors(Header() + "offices:\n" + Office("1371000017") + "    colour: blue\n")
                .find(f + ":12:5: offices[0].colour: unknown key"),
            std::string::npos);
  std::string missing = Errors(
      "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\nplugins:\n"
      "  - name: otp_relay\n    path: gone.so\noffices:\n" +
      Office("1371000017"));
  EXPECT_NE(missing.find(f + ":6:11: plugins[0].path: file not found or not readable"),
            std::string::npos)
      << missing;
  std::string unknown_plugin = Errors(Header() + "offices:\n" + Office("1371000017", "nothing"));
  EXPECT_NE(unknown_plugin.find("offices[0].concerns[0].plugin"), std::string::npos)
      << unknown_plugin;
  EXPECT_NE(Errors("server: [\n").find(f), std::string::npos) << "not YAML: named";
}

TEST_F(ConfigLoaderTest, PathsAndAddresses) {
  EXPECT_EQ(ResolvePath("/etc/kaigo", "a.yaml"), "/etc/kaigo/a.yaml");
  EXPECT_EQ(ResolvePath("/etc/kaigo", "/var/a.yaml"), "/var/a.yaml");
  std::string host;
  int port = -1;
  EXPECT_TRUE(ParseHostPort("127.0.0.1:50051", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 50051);
  EXPECT_TRUE(ParseHostPort("[::1]:0", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(ParseHostPort("127.0.0.1:65536", &host, &port));
  EXPECT_FALSE(ParseHostPort("127.0.0.1", &host, &port));

  kaigo::v1::ServerConfig server;
  server.set_listen("127.0.0.1:50051");
  server.set_metrics_listen("[::1]:9100");
  std::string which;
  EXPECT_TRUE(ListensOnLoopbackOnly(server, &which));
  server.set_health_listen("0.0.0.0:8080");
  EXPECT_FALSE(ListensOnLoopbackOnly(server, &which));
  EXPECT_EQ(which, "server.health_listen (0.0.0.0:8080)");
  server.clear_health_listen();
  server.set_listen("127.evil.example:50051");
  EXPECT_FALSE(ListensOnLoopbackOnly(server, &which));
  EXPECT_EQ(which, "server.listen (127.evil.example:50051)");
}

}  // namespace
}  // namespace kaigo::engine

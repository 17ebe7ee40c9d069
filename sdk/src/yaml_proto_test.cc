#include "kaigo/sdk/yaml_proto.h"

#include <gtest/gtest.h>

#include "kaigo/v1/config.pb.h"

namespace kaigo::sdk {
namespace {

struct Mapped {
  kaigo::v1::EngineConfig config;
  ConfigErrors errors;
  std::unique_ptr<YamlDocument> doc;
};

Mapped Map(const std::string& yaml) {
  Mapped m;
  auto doc = YamlDocument::Parse("f.yaml", yaml);
  EXPECT_TRUE(doc.ok()) << doc.status();
  m.doc = *std::move(doc);
  YamlProtoMapper(&m.errors).Map(m.doc->root(), "", &m.config);
  return m;
}

TEST(YamlProtoTest, MapsScalarsListsMessagesAndEnums) {
  auto m =
      Map("server: {listen: \"127.0.0.1:1\", insecure_loopback: true}\n"
          "offices:\n  - number: 0412345678\n    service_types: [\"43\", \"11\"]\n"
          "callers:\n  - identity: a\n    roles: [care_manager, ROLE_ENGINE_ADMIN]\n");
  ASSERT_TRUE(m.errors.empty()) << m.errors.Joined();
  EXPECT_TRUE(m.config.server().insecure_loopback());
  EXPECT_EQ(m.config.offices(0).number(), "0412345678") << "leading zero kept";
  EXPECT_EQ(m.config.offices(0).service_types_size(), 2);
  EXPECT_EQ(m.config.callers(0).roles(0), kaigo::options::v1::ROLE_CARE_MANAGER);
  EXPECT_EQ(m.config.callers(0).roles(1), kaigo::options::v1::ROLE_ENGINE_ADMIN);
  EXPECT_EQ(YamlDocument::Walk(m.doc->root(), "offices[0].number").Mark(), "f.yaml:3:13");
}

TEST(YamlProtoTest, ErrorsNamePositionAndPath) {
  auto m =
      Map("server:\n  listen: [1]\noffices: {number: 1}\nlog:\n  access_log: yes\n"
          "callers:\n  - roles: [ROLE_UNSPECIFIED]\n");
  const auto& e = m.errors.list();
  ASSERT_EQ(e.size(), 4u) << m.errors.Joined();
  EXPECT_EQ(e[0], "f.yaml:2:11: server.listen: expected a string value");
  EXPECT_EQ(e[1], "f.yaml:3:10: offices: expected a list");
  EXPECT_EQ(e[2], "f.yaml:5:15: log.access_log: expected true or false, got 'yes'");
  EXPECT_NE(e[3].find("callers[0].roles[0]: expected one of care_manager"), std::string::npos)
      << "the zero value is not a choice";
}

TEST(YamlProtoTest, AKeyWrittenTwiceIsAnError) {
  auto m = Map("log:\n  level: warn\n  level: debug\n");
  ASSERT_EQ(m.errors.list().size(), 1u) << m.errors.Joined();
  EXPECT_EQ(m.errors.list()[0],
            "f.yaml:3:3: log.level: written twice in one mapping (first at f.yaml:2:3)");
  EXPECT_EQ(m.config.log().level(), "warn");
}

TEST(YamlProtoTest, AliasesMapAsTheAnchoredNode) {
  auto m =
      Map("offices:\n  - number: &n \"0412345678\"\n    service_types: &t [\"43\"]\n"
          "  - {number: *n, service_types: *t}\n");
  ASSERT_TRUE(m.errors.empty()) << m.errors.Joined();
  ASSERT_EQ(m.config.offices_size(), 2);
  EXPECT_EQ(m.config.offices(1).number(), "0412345678");
  EXPECT_EQ(m.config.offices(1).service_types(0), "43");
}

TEST(YamlProtoTest, BytesNeedAHook) {
  auto m = Map("offices:\n  - concerns:\n      - settings: x\n");
  EXPECT_FALSE(m.errors.empty()) << "bytes cannot be written without a hook";
}

}  // namespace
}  // namespace kaigo::sdk

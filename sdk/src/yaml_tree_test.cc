#include "kaigo/sdk/yaml_tree.h"

#include <gtest/gtest.h>

#include <string>

namespace kaigo::sdk {
namespace {

std::unique_ptr<YamlDocument> Parse(const std::string& text) {
  auto doc = YamlDocument::Parse("f.yaml", text);
  EXPECT_TRUE(doc.ok()) << doc.status();
  return doc.ok() ? *std::move(doc) : nullptr;
}

std::string ParseError(const std::string& text) {
  auto doc = YamlDocument::Parse("f.yaml", text);
  EXPECT_FALSE(doc.ok()) << text;
  return std::string(doc.status().message());
}

TEST(YamlTreeTest, ReadsMappingsSequencesAndScalarsWithTheirPlaces) {
  auto doc = Parse("a: 1\nb:\n  - x\n  - \"y, z\"\nc: {d: e}\n");
  YamlNode root = doc->root();
  ASSERT_TRUE(root.IsMap());
  ASSERT_EQ(root.size(), 3u);
  EXPECT_EQ(root.key(0).Scalar(), "a");
  EXPECT_EQ(root.Find("a").Scalar(), "1");
  YamlNode b = root.Find("b");
  ASSERT_TRUE(b.IsSequence());
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].Scalar(), "y, z");
  EXPECT_EQ(b[1].Mark(), "f.yaml:4:5");
  EXPECT_FALSE(b[2]) << "out of range is absent";
  EXPECT_EQ(root.Find("c").Find("d").Scalar(), "e");
  EXPECT_FALSE(root.Find("missing"));
  EXPECT_TRUE(root.Find("missing").IsNull());
}

TEST(YamlTreeTest, PlainNullsAreNullAndQuotedOnesAreText) {
  auto doc = Parse("a:\nb: ~\nc: null\nd: \"null\"\ne: ''\n");
  YamlNode root = doc->root();
  EXPECT_TRUE(root.Find("a").IsNull());
  EXPECT_TRUE(root.Find("b").IsNull());
  EXPECT_TRUE(root.Find("c").IsNull());
  EXPECT_TRUE(root.Find("d").IsScalar());
  EXPECT_EQ(root.Find("d").Scalar(), "null");
  EXPECT_TRUE(root.Find("e").IsScalar());
  EXPECT_TRUE(Parse("")->root().IsNull()) << "an empty file holds all defaults";
  EXPECT_TRUE(Parse("# only a comment\n")->root().IsNull());
}

TEST(YamlTreeTest, AliasesShareTheAnchoredNode) {
  auto doc = Parse("p: &p {url: x}\nq: *p\nr: [&s one, *s]\n");
  YamlNode root = doc->root();
  EXPECT_EQ(root.Find("q").Find("url").Scalar(), "x");
  EXPECT_EQ(root.Find("q").Mark(), "f.yaml:1:4") << "an alias is placed where its anchor is";
  EXPECT_EQ(root.Find("r")[1].Scalar(), "one");
}

TEST(YamlTreeTest, WalkFindsAFieldPathOrTheNearestNodeWritten) {
  auto doc = Parse("offices:\n  - number: \"1\"\n    concerns:\n      - plugin: otp\n");
  YamlNode root = doc->root();
  EXPECT_EQ(YamlDocument::Walk(root, "offices[0].concerns[0].plugin").Mark(), "f.yaml:4:17");
  EXPECT_EQ(YamlDocument::Walk(root, "offices[0].concerns[0].service").Mark(), "f.yaml:4:9");
  EXPECT_EQ(YamlDocument::Walk(root, "offices[3].number").Mark(), "f.yaml:2:3") << "the list";
  EXPECT_EQ(YamlDocument::Walk(root, "").Mark(), "f.yaml:1:1");
}

TEST(YamlTreeTest, ErrorsNameThePlaceAndTheRule) {
  EXPECT_EQ(ParseError("a: [1,\n"),
            "f.yaml:2:1: YAML syntax: did not find expected node content "
            "while parsing a flow node");
  EXPECT_EQ(ParseError("a: 1\n---\nb: 2\n"),
            "f.yaml:2:1: a second YAML document: write one per file");
  EXPECT_EQ(ParseError("a: *nowhere\n"),
            "f.yaml:1:4: alias *nowhere names no complete anchor before it");
  EXPECT_EQ(ParseError("a: &a [1, *a]\n"),
            "f.yaml:1:11: alias *a names no complete anchor before it")
      << "a node cannot hold itself";
  EXPECT_EQ(ParseError(std::string(300, '[') + std::string(300, ']')),
            "f.yaml:1:257: nesting deeper than 256 levels");
}

TEST(YamlTreeTest, AliasesMayNotExpandWithoutBound) {
  // Each level doubles: 2^30 nodes from 30 lines.
  std::string text = "l0: &l0 [x, x]\n";
  for (int i = 1; i <= 30; ++i) {
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [*l" + std::to_string(i - 1) +
            ", *l" + std::to_string(i - 1) + "]\n";
  }
  EXPECT_NE(ParseError(text).find("aliases expand this node past 10000000 nodes"),
            std::string::npos);
}

TEST(YamlTreeTest, ReadFileNamesAFileItCannotRead) {
  auto doc = YamlDocument::ReadFile("/nonexistent/engine.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message(), "/nonexistent/engine.yaml: cannot read the file");
  auto dir = YamlDocument::ReadFile("/tmp");
  ASSERT_FALSE(dir.ok()) << "a directory is no file";
  EXPECT_EQ(dir.status().message(), "/tmp: cannot read the file");
}

}  // namespace
}  // namespace kaigo::sdk

// A YAML document read once into a compact, immutable tree (libyaml's event parser underneath):
// every node in one array, every child list in another, every scalar's text in one buffer, so
// reading a configuration of 10,000 offices costs a few allocations rather than one per node.
// Anchors and aliases are resolved by sharing the anchored node; merge keys ("<<") and tags are
// not interpreted.
//
// A YamlDocument is immutable once read and may be read from any thread. A YamlNode is a handle
// (document + index): cheap to copy, valid while its document lives.
#ifndef KAIGO_SDK_YAML_TREE_H_
#define KAIGO_SDK_YAML_TREE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kaigo::sdk {

class YamlDocument;

class YamlNode {
 public:
  YamlNode() = default;  // absent: no such key or item

  explicit operator bool() const { return doc_ != nullptr; }
  // Absent, or a plain ~, null, Null, NULL or nothing at all.
  bool IsNull() const;
  bool IsScalar() const;
  bool IsMap() const;
  bool IsSequence() const;

  // The scalar's text ("" for any other node).
  absl::string_view Scalar() const;
  // Items of a sequence, pairs of a mapping, 0 otherwise.
  size_t size() const;
  // The i-th item of a sequence (absent when out of range or not a sequence).
  YamlNode operator[](size_t i) const;
  // The i-th pair of a mapping, in the order written.
  YamlNode key(size_t i) const;
  YamlNode value(size_t i) const;
  // The value of the first pair whose key is the scalar `key` (absent when none).
  YamlNode Find(absl::string_view key) const;

  // Where the node starts, 1-based; 0 when absent.
  int line() const;
  int column() const;
  // "file:line:column"; "" when absent.
  std::string Mark() const;

 private:
  friend class YamlDocument;
  YamlNode(const YamlDocument* doc, uint32_t index) : doc_(doc), index_(index) {}

  const YamlDocument* doc_ = nullptr;
  uint32_t index_ = 0;
};

class YamlDocument {
 public:
  // Reads the first document of `text`; a second document is an error, as it would otherwise be
  // ignored. Errors read "file:line:column: YAML syntax: <libyaml's words>" or name the limit
  // broken (nesting deeper than 256, aliases expanding past 10,000,000 nodes).
  static absl::StatusOr<std::unique_ptr<YamlDocument>> Parse(std::string file,
                                                             absl::string_view text);
  static absl::StatusOr<std::unique_ptr<YamlDocument>> ReadFile(const std::string& file);

  YamlNode root() const { return YamlNode(this, 0); }
  const std::string& file() const { return file_; }

  // The node at `field_path` ("offices[2].concerns[0].plugin": mapping keys after '.', sequence
  // indexes in brackets) below `from`, or the nearest node on the way when the rest was not
  // written.
  static YamlNode Walk(YamlNode from, absl::string_view field_path);

 private:
  friend class YamlNode;
  friend class YamlTreeBuilder;
  enum class Kind : uint8_t { kNull, kScalar, kMap, kSequence };
  struct Node {
    Kind kind;
    uint32_t line;    // 0-based, as libyaml counts
    uint32_t column;  // 0-based
    // Scalar: its text in text_. Collections: its children in children_ (a mapping's as key,
    // value, key, value …).
    uint32_t begin;
    uint32_t size;
  };

  explicit YamlDocument(std::string file) : file_(std::move(file)) {}

  std::string file_;
  std::vector<Node> nodes_;  // the root first
  std::vector<uint32_t> children_;
  std::string text_;
};

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_YAML_TREE_H_

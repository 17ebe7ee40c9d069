#include "kaigo/sdk/yaml_tree.h"

#include <yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kaigo::sdk {

namespace {

constexpr int kMaxDepth = 256;
// A few kilobytes of aliases can stand for billions of nodes ("billion laughs"); whoever walks
// the tree would then never finish.
constexpr uint64_t kMaxExpandedNodes = 10'000'000;

bool IsNullText(absl::string_view text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

}  // namespace

// Builds a YamlDocument from libyaml's events: a collection's node is added when it opens (so
// the root is node 0) and its children, gathered on a stack meanwhile, are copied next to each
// other when it closes.
class YamlTreeBuilder {
 public:
  explicit YamlTreeBuilder(YamlDocument* doc) : doc_(doc) {}

  absl::Status Build(absl::string_view text) {
    yaml_parser_t parser;
    if (yaml_parser_initialize(&parser) == 0) return absl::ResourceExhaustedError("libyaml");
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    // Configurations run about one node per 16 bytes, most of them scalars; growing by doubling
    // would copy (and fault in) a large document's arrays several times over.
    doc_->nodes_.reserve(text.size() / 16 + 1);
    expanded_.reserve(text.size() / 16 + 1);
    doc_->children_.reserve(text.size() / 16 + 1);
    doc_->text_.reserve(text.size());
    absl::Status status = Run(&parser);
    yaml_parser_delete(&parser);
    if (status.ok() && doc_->nodes_.empty()) Add(YamlDocument::Kind::kNull, 0, 0);
    return status;
  }

 private:
  using Kind = YamlDocument::Kind;
  struct Open {
    uint32_t node;
    size_t first_child;  // in pending_
  };

  absl::Status Run(yaml_parser_t* parser) {
    int documents = 0;
    for (;;) {
      yaml_event_t event;
      if (yaml_parser_parse(parser, &event) == 0) {
        return Error(parser->problem_mark,
                     absl::StrCat("YAML syntax: ", parser->problem ? parser->problem : "unreadable",
                                  parser->context ? absl::StrCat(" ", parser->context) : ""));
      }
      absl::Status status = absl::OkStatus();
      bool done = false;
      switch (event.type) {
        case YAML_STREAM_END_EVENT:
          done = true;
          break;
        case YAML_DOCUMENT_START_EVENT:
          if (++documents > 1) {
            status = Error(event.start_mark, "a second YAML document: write one per file");
          }
          break;
        case YAML_ALIAS_EVENT:
          status = Alias(event);
          break;
        case YAML_SCALAR_EVENT:
          status = Scalar(event);
          break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
          status = Start(event);
          break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
          status = End();
          break;
        default:
          break;
      }
      yaml_event_delete(&event);
      if (!status.ok() || done) return status;
    }
  }

  absl::Status Error(const yaml_mark_t& mark, const std::string& message) const {
    return absl::InvalidArgumentError(
        absl::StrCat(doc_->file_, ":", mark.line + 1, ":", mark.column + 1, ": ", message));
  }

  uint32_t Add(Kind kind, size_t line, size_t column) {
    doc_->nodes_.push_back(
        {kind, static_cast<uint32_t>(line), static_cast<uint32_t>(column), 0, 0});
    expanded_.push_back(1);
    return static_cast<uint32_t>(doc_->nodes_.size() - 1);
  }

  void Attach(uint32_t node) {
    if (!open_.empty()) pending_.push_back(node);
  }

  void Anchor(const yaml_char_t* anchor, uint32_t node) {
    if (anchor != nullptr) anchors_[reinterpret_cast<const char*>(anchor)] = node;
  }

  absl::Status Scalar(const yaml_event_t& event) {
    const auto& s = event.data.scalar;
    absl::string_view text(reinterpret_cast<const char*>(s.value), s.length);
    bool null = s.plain_implicit != 0 && IsNullText(text);
    uint32_t node =
        Add(null ? Kind::kNull : Kind::kScalar, event.start_mark.line, event.start_mark.column);
    doc_->nodes_[node].begin = static_cast<uint32_t>(doc_->text_.size());
    doc_->nodes_[node].size = static_cast<uint32_t>(text.size());
    doc_->text_.append(text.data(), text.size());
    Anchor(s.anchor, node);
    Attach(node);
    return absl::OkStatus();
  }

  absl::Status Alias(const yaml_event_t& event) {
    // An anchor is known once its node is complete, so a node cannot contain itself.
    auto it = anchors_.find(reinterpret_cast<const char*>(event.data.alias.anchor));
    if (it == anchors_.end()) {
      return Error(event.start_mark,
                   absl::StrCat("alias *", reinterpret_cast<const char*>(event.data.alias.anchor),
                                " names no complete anchor before it"));
    }
    Attach(it->second);
    return absl::OkStatus();
  }

  absl::Status Start(const yaml_event_t& event) {
    if (open_.size() >= kMaxDepth) {
      return Error(event.start_mark, absl::StrCat("nesting deeper than ", kMaxDepth, " levels"));
    }
    bool map = event.type == YAML_MAPPING_START_EVENT;
    uint32_t node =
        Add(map ? Kind::kMap : Kind::kSequence, event.start_mark.line, event.start_mark.column);
    const yaml_char_t* anchor =
        map ? event.data.mapping_start.anchor : event.data.sequence_start.anchor;
    if (anchor != nullptr) open_anchors_[node] = reinterpret_cast<const char*>(anchor);
    Attach(node);
    open_.push_back({node, pending_.size()});
    return absl::OkStatus();
  }

  absl::Status End() {
    Open open = open_.back();
    open_.pop_back();
    auto& node = doc_->nodes_[open.node];
    node.begin = static_cast<uint32_t>(doc_->children_.size());
    node.size = static_cast<uint32_t>(pending_.size() - open.first_child);
    uint64_t expanded = 1;
    for (size_t i = open.first_child; i < pending_.size(); ++i) {
      doc_->children_.push_back(pending_[i]);
      expanded = std::min(expanded + expanded_[pending_[i]], kMaxExpandedNodes + 1);
    }
    pending_.resize(open.first_child);
    expanded_[open.node] = expanded;
    if (expanded > kMaxExpandedNodes) {
      yaml_mark_t mark{};
      mark.line = node.line;
      mark.column = node.column;
      return Error(mark,
                   absl::StrCat("aliases expand this node past ", kMaxExpandedNodes, " nodes"));
    }
    auto anchor = open_anchors_.find(open.node);
    if (anchor != open_anchors_.end()) {
      anchors_[anchor->second] = open.node;
      open_anchors_.erase(anchor);
    }
    return absl::OkStatus();
  }

  YamlDocument* doc_;
  std::vector<Open> open_;
  std::vector<uint32_t> pending_;
  std::vector<uint64_t> expanded_;           // per node: how many nodes it stands for with aliases
  std::map<std::string, uint32_t> anchors_;  // a later anchor of the same name replaces
  std::map<uint32_t, std::string> open_anchors_;
};

absl::StatusOr<std::unique_ptr<YamlDocument>> YamlDocument::Parse(std::string file,
                                                                  absl::string_view text) {
  std::unique_ptr<YamlDocument> doc(new YamlDocument(std::move(file)));
  if (absl::Status s = YamlTreeBuilder(doc.get()).Build(text); !s.ok()) return s;
  return doc;
}

absl::StatusOr<std::unique_ptr<YamlDocument>> YamlDocument::ReadFile(const std::string& file) {
  // A directory opens as a stream whose end is at the largest offset there is.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return absl::NotFoundError(absl::StrCat(file, ": cannot read the file"));
  }
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  std::streamoff size = in ? static_cast<std::streamoff>(in.tellg()) : -1;
  std::string text(size > 0 ? static_cast<size_t>(size) : 0, '\0');
  if (size < 0 || !in.seekg(0) || !in.read(text.data(), size)) {
    return absl::NotFoundError(absl::StrCat(file, ": cannot read the file"));
  }
  return Parse(file, text);
}

YamlNode YamlDocument::Walk(YamlNode from, absl::string_view path) {
  YamlNode at = from;
  size_t i = 0;
  while (at && i < path.size()) {
    YamlNode next;
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      size_t index;
      if (close == absl::string_view::npos ||
          !absl::SimpleAtoi(path.substr(i + 1, close - i - 1), &index)) {
        return at;
      }
      next = at[index];
      i = close + 1;
    } else {
      if (path[i] == '.') ++i;
      size_t end = std::min(path.find_first_of(".[", i), path.size());
      next = at.Find(path.substr(i, end - i));
      i = end;
    }
    if (!next) return at;
    at = next;
  }
  return at;
}

bool YamlNode::IsNull() const {
  return doc_ == nullptr || doc_->nodes_[index_].kind == YamlDocument::Kind::kNull;
}
bool YamlNode::IsScalar() const {
  return doc_ != nullptr && doc_->nodes_[index_].kind == YamlDocument::Kind::kScalar;
}
bool YamlNode::IsMap() const {
  return doc_ != nullptr && doc_->nodes_[index_].kind == YamlDocument::Kind::kMap;
}
bool YamlNode::IsSequence() const {
  return doc_ != nullptr && doc_->nodes_[index_].kind == YamlDocument::Kind::kSequence;
}

absl::string_view YamlNode::Scalar() const {
  if (!IsScalar()) return {};
  const auto& node = doc_->nodes_[index_];
  return absl::string_view(doc_->text_).substr(node.begin, node.size);
}

size_t YamlNode::size() const {
  if (IsSequence()) return doc_->nodes_[index_].size;
  if (IsMap()) return doc_->nodes_[index_].size / 2;
  return 0;
}

YamlNode YamlNode::operator[](size_t i) const {
  if (!IsSequence() || i >= size()) return {};
  return YamlNode(doc_, doc_->children_[doc_->nodes_[index_].begin + i]);
}

YamlNode YamlNode::key(size_t i) const {
  if (!IsMap() || i >= size()) return {};
  return YamlNode(doc_, doc_->children_[doc_->nodes_[index_].begin + 2 * i]);
}

YamlNode YamlNode::value(size_t i) const {
  if (!IsMap() || i >= size()) return {};
  return YamlNode(doc_, doc_->children_[doc_->nodes_[index_].begin + 2 * i + 1]);
}

YamlNode YamlNode::Find(absl::string_view wanted) const {
  for (size_t i = 0, n = size(); i < n && IsMap(); ++i) {
    YamlNode k = key(i);
    if (k.IsScalar() && k.Scalar() == wanted) return value(i);
  }
  return {};
}

int YamlNode::line() const { return doc_ == nullptr ? 0 : doc_->nodes_[index_].line + 1; }
int YamlNode::column() const { return doc_ == nullptr ? 0 : doc_->nodes_[index_].column + 1; }

std::string YamlNode::Mark() const {
  if (doc_ == nullptr) return "";
  return absl::StrCat(doc_->file_, ":", line(), ":", column());
}

}  // namespace kaigo::sdk

// Maps a YAML document onto a protobuf message by the message's descriptor, so the configuration
// schema lives in one place (proto/kaigo/v1/config.proto). Keys are proto field names; unknown
// keys, wrong types and out-of-range numbers are errors that name file:line:column and the field
// path (offices[1].concerns[0].plugin). Enums accept the value name or its lower-case short form
// (ROLE_CARE_MANAGER or care_manager). A key written twice in one mapping is an error.
//
// Not thread-safe per instance; use one mapper per document.
#ifndef KAIGO_SDK_YAML_PROTO_H_
#define KAIGO_SDK_YAML_PROTO_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "kaigo/sdk/yaml_tree.h"

namespace kaigo::sdk {

// Collects errors instead of stopping at the first, so one run shows everything to fix.
class ConfigErrors {
 public:
  void Add(const std::string& where, const std::string& path, const std::string& message);
  // An error that names its place already ("file:line:column: …").
  void Add(std::string line) { errors_.push_back(std::move(line)); }
  bool empty() const { return errors_.empty(); }
  const std::vector<std::string>& list() const { return errors_; }
  std::string Joined() const;

 private:
  std::vector<std::string> errors_;
};

// Reads `file` as YAML; null (with the error added) when it cannot be read or parsed.
std::unique_ptr<YamlDocument> ParseYamlFile(const std::string& file, ConfigErrors* errors);

// Reads `file` onto `message`; INVALID_ARGUMENT listing every error, one per line.
absl::Status LoadYamlMessage(const std::string& file, google::protobuf::Message* message);

class YamlProtoMapper {
 public:
  // Called for a bytes field instead of mapping it; the hook keeps the node for later.
  using BytesHook =
      std::function<void(const std::string& path, YamlNode node, google::protobuf::Message* owner,
                         const google::protobuf::FieldDescriptor* field)>;

  explicit YamlProtoMapper(ConfigErrors* errors) : errors_(errors) {}

  void SetBytesHook(BytesHook hook) { bytes_hook_ = std::move(hook); }
  // String fields whose names end in "_file" or "_dir" are paths: relative ones are taken from
  // `dir` (the directory of the file that wrote them) and stored absolute; absolute ones are put
  // below `root` when one is given (checking a staged tree).
  void ResolvePathsAgainst(std::string dir, std::string root = "") {
    path_base_ = std::move(dir);
    path_root_ = std::move(root);
  }

  // Fills `message` from `node` (a mapping, or null for all defaults) at field path `path`.
  void Map(YamlNode node, const std::string& path, google::protobuf::Message* message);

 private:
  void MapField(YamlNode node, const std::string& path, google::protobuf::Message* message,
                const google::protobuf::FieldDescriptor* field);
  void MapScalar(YamlNode node, const std::string& path, google::protobuf::Message* message,
                 const google::protobuf::FieldDescriptor* field);
  void Error(YamlNode node, const std::string& path, const std::string& message);

  ConfigErrors* errors_;
  BytesHook bytes_hook_;
  std::string path_base_;
  std::string path_root_;
};

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_YAML_PROTO_H_

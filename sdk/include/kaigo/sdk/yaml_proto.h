// Maps a YAML document onto a protobuf message by the message's descriptor, so the configuration
// schema lives in one place (proto/kaigo/v1/config.proto). Keys are proto field names; unknown
// keys, wrong types and out-of-range numbers are errors that name file:line:column and the field
// path (offices[1].concerns[0].plugin). Enums accept the value name or its lower-case short form
// (ROLE_CARE_MANAGER or care_manager).
//
// Not thread-safe per instance; use one mapper per document.
#ifndef KAIGO_SDK_YAML_PROTO_H_
#define KAIGO_SDK_YAML_PROTO_H_

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace kaigo::sdk {

// Where each field path was written, "file:line:column".
using PositionIndex = std::map<std::string, std::string>;

// Collects errors instead of stopping at the first, so one run shows everything to fix.
class ConfigErrors {
 public:
  void Add(const std::string& where, const std::string& path, const std::string& message);
  bool empty() const { return errors_.empty(); }
  const std::vector<std::string>& list() const { return errors_; }
  std::string Joined() const;

 private:
  std::vector<std::string> errors_;
};

std::string MarkOf(const std::string& file, const YAML::Node& node);

// Reads `file` as YAML into `out`; false (with the error added) when it cannot be read or parsed.
bool ParseYamlFile(const std::string& file, YAML::Node* out, ConfigErrors* errors);

// Reads `file` onto `message`; INVALID_ARGUMENT listing every error, one per line.
absl::Status LoadYamlMessage(const std::string& file, google::protobuf::Message* message);

class YamlProtoMapper {
 public:
  // Called for a bytes field instead of mapping it; the hook keeps the node for later.
  using BytesHook = std::function<void(const std::string& path, const YAML::Node& node,
                                       google::protobuf::Message* owner,
                                       const google::protobuf::FieldDescriptor* field)>;

  YamlProtoMapper(std::string file, PositionIndex* positions, ConfigErrors* errors)
      : file_(std::move(file)), positions_(positions), errors_(errors) {}

  void SetBytesHook(BytesHook hook) { bytes_hook_ = std::move(hook); }
  // String fields whose names end in "_file" or "_dir" are paths: relative ones are taken from
  // `dir` (the directory of the file that wrote them) and stored absolute; absolute ones are put
  // below `root` when one is given (checking a staged tree).
  void ResolvePathsAgainst(std::string dir, std::string root = "") {
    path_base_ = std::move(dir);
    path_root_ = std::move(root);
  }

  // Fills `message` from `node` (a mapping, or null for all defaults) at field path `path`.
  void Map(const YAML::Node& node, const std::string& path, google::protobuf::Message* message);

 private:
  void MapField(const YAML::Node& node, const std::string& path, google::protobuf::Message* message,
                const google::protobuf::FieldDescriptor* field);
  void MapScalar(const YAML::Node& node, const std::string& path,
                 google::protobuf::Message* message,
                 const google::protobuf::FieldDescriptor* field);
  void Error(const YAML::Node& node, const std::string& path, const std::string& message);

  std::string file_;
  PositionIndex* positions_;
  ConfigErrors* errors_;
  BytesHook bytes_hook_;
  std::string path_base_;
  std::string path_root_;
};

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_YAML_PROTO_H_

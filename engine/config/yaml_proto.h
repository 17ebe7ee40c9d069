// Maps a YAML document onto a protobuf message by the message's descriptor, so the configuration
// schema lives in one place (proto/kaigo/v1/config.proto). Keys are proto field names; unknown
// keys, wrong types and out-of-range numbers are errors that name file:line:column and the field
// path (offices[1].concerns[0].plugin). Enums accept the value name or its lower-case short form
// (ROLE_CARE_MANAGER or care_manager).
//
// Not thread-safe per instance; use one mapper per document.
#ifndef KAIGO_ENGINE_CONFIG_YAML_PROTO_H_
#define KAIGO_ENGINE_CONFIG_YAML_PROTO_H_

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "google/protobuf/message.h"

namespace kaigo::engine {

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

class YamlProtoMapper {
 public:
  // Called for a bytes field instead of mapping it; the hook keeps the node for later.
  using BytesHook = std::function<void(const std::string& path, const YAML::Node& node,
                                       google::protobuf::Message* owner,
                                       const google::protobuf::FieldDescriptor* field)>;

  YamlProtoMapper(std::string file, PositionIndex* positions, ConfigErrors* errors)
      : file_(std::move(file)), positions_(positions), errors_(errors) {}

  void SetBytesHook(BytesHook hook) { bytes_hook_ = std::move(hook); }

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
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_CONFIG_YAML_PROTO_H_

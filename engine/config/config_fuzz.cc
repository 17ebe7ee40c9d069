// libFuzzer target: an engine configuration is outside input (integrators write it). Maps any
// bytes as YAML onto EngineConfig and runs the checks that need no plugin. Invariant: no crash, no
// hang; malformed input ends as errors.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return 0;  // reported as "YAML syntax" by LoadConfig
  }
  kaigo::engine::ConfigErrors errors;
  kaigo::engine::LoadedConfig loaded;
  loaded.path = "/fuzz/engine.yaml";
  loaded.dir = "/fuzz";
  kaigo::engine::YamlProtoMapper mapper(loaded.path, &loaded.positions, &errors);
  mapper.SetBytesHook([](const std::string&, const YAML::Node&, google::protobuf::Message*,
                         const google::protobuf::FieldDescriptor*) {});
  mapper.Map(root, "", &loaded.config);
  kaigo::engine::ValidateConfig(loaded, &errors);
  return 0;
}

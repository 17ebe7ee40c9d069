// libFuzzer target: an engine configuration is outside input (integrators write it). Maps any
// bytes as YAML onto EngineConfig and runs the checks that need no plugin. Invariant: no crash, no
// hang; malformed input ends as errors.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kaigo::engine::LoadedConfig loaded;
  loaded.path = "/fuzz/engine.yaml";
  loaded.dir = "/fuzz";
  auto doc = kaigo::sdk::YamlDocument::Parse(
      loaded.path, absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!doc.ok()) return 0;  // reported as "YAML syntax" by LoadConfig
  kaigo::engine::ConfigErrors errors;
  kaigo::engine::YamlProtoMapper mapper(&errors);
  mapper.SetBytesHook([](const std::string&, kaigo::sdk::YamlNode, google::protobuf::Message*,
                         const google::protobuf::FieldDescriptor*) {});
  mapper.Map((*doc)->root(), "", &loaded.config);
  loaded.sources.emplace_back("", (*doc)->root());
  loaded.documents.push_back(*std::move(doc));
  kaigo::engine::ValidateConfig(loaded, &errors);
  return 0;
}

// Reads an engine configuration (YAML, schema kaigo.v1.EngineConfig) and checks every rule that
// needs no plugin: identifiers with their check digits, duplicates, references between sections,
// files that must exist, secrets by reference only. Plugin settings are kept as YAML nodes until
// the plugin's manifest says which message type they must fill (see engine/engine.h).
//
// Every error names file:line:column and the field path. Not thread-safe; values are immutable
// after loading.
#ifndef KAIGO_ENGINE_CONFIG_CONFIG_LOADER_H_
#define KAIGO_ENGINE_CONFIG_CONFIG_LOADER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kaigo/sdk/yaml_proto.h"
#include "kaigo/v1/config.pb.h"

namespace kaigo::engine {

using sdk::ConfigErrors;
using sdk::ParseYamlFile;
using sdk::YamlDocument;
using sdk::YamlNode;
using sdk::YamlProtoMapper;

// A plugin's settings as written, to be mapped once the plugin's config type is known.
struct PendingSettings {
  int office = 0;
  int binding = 0;
  std::string path;
  std::string file;
  YamlNode node;  // in one of LoadedConfig::documents
};

struct LoadedConfig {
  kaigo::v1::EngineConfig config;
  std::string path;  // absolute path of the main file
  std::string dir;   // its directory: relative paths in the file are resolved against it
  // When checking a staged tree (check-config --root): absolute paths in the file are taken
  // below this directory.
  std::string root;
  // The files as read: the main file, then each office file. Kept for the positions of field
  // paths (Where) and the pending settings.
  std::vector<std::unique_ptr<YamlDocument>> documents;
  // Which document wrote which part of the configuration: "" for the main file,
  // "offices[N]" for an office file.
  std::vector<std::pair<std::string, YamlNode>> sources;
  std::vector<PendingSettings> settings;
  // False when a file is not YAML at all: nothing else can be checked then.
  bool parsed = true;

  // "file:line:column" of `field_path`, or of its nearest written parent.
  std::string Where(const std::string& field_path) const;
  std::string Resolve(const std::string& relative) const;
};

// Reads the file (and the office_dirs it names). Problems go to `errors`; the result is usable
// only when `errors` stayed empty.
LoadedConfig LoadConfig(const std::string& path, ConfigErrors* errors,
                        const std::string& root = "");

// The checks that need no plugin.
void ValidateConfig(const LoadedConfig& loaded, ConfigErrors* errors);

// `path` as written in a configuration in `dir`: absolute paths stay, relative ones are joined.
std::string ResolvePath(const std::string& dir, const std::string& path);

// "host:port" with a port of 0–65535; IPv6 hosts in brackets.
bool ParseHostPort(const std::string& address, std::string* host, int* port);
// Whether every listener in `server` is on loopback (kaigo/sdk/loopback.h); else names the first
// that is not, as "server.listen (0.0.0.0:50051)".
bool ListensOnLoopbackOnly(const kaigo::v1::ServerConfig& server, std::string* not_loopback);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_CONFIG_CONFIG_LOADER_H_

// kaigo-plugin-check LIB.so [--settings TEXTPROTO] [--secret NAME=VALUE]…
//
// --settings are the plugin's settings in protobuf text format, checked against the settings type
// its manifest names; --secret binds office secrets for the instance (a plugin that reads its
// credentials at creation needs them; no network is used).
// Loads a plugin image the way the engine does and checks that it keeps the ABI contract:
//  - it links this SDK's libkaigo_proto or none (checked before loading it), and its manifest
//    names this SDK's kaigo API release (MAJOR.MINOR) or none; it prints the SDK version and the
//    API release the plugin was built with;
//  - it exports kaigo_plugin_entry, and its table and manifest keep the rules the engine's loader
//    applies, the same code (kaigo/sdk/internal/manifest_check.h): ABI version 1 and a sane size;
//    a name, a semantic version, a known status and at least one service; a FileDescriptorSet
//    that builds on its own and declares every listed service (and the config type); no method
//    client-streaming;
//  - an instance can be created (with default or the given settings), and every method answers
//    three kinds of malformed request bytes with INVALID_ARGUMENT, in time, without crashing.
// The calls run in a child process so that a crash is reported, not suffered.
// Prints one line per check; exits 0 when all pass, 1 otherwise.
#include <sys/wait.h>
#include <unistd.h>

#include <boost/dll/shared_library.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/text_format.h"
#include "kaigo/plugin.h"
#include "kaigo/sdk/api_release.h"
#include "kaigo/sdk/fake_host.h"
#include "kaigo/sdk/internal/manifest_check.h"

namespace {

int failures = 0;

void Report(bool ok, const std::string& what) {
  std::cout << (ok ? "ok    " : "FAIL  ") << what << "\n";
  if (!ok) ++failures;
}

// Request bytes no protobuf message accepts: an invalid wire type, a length running past the
// end, a truncated varint.
const std::vector<std::pair<std::string, std::string>> kGarbage = {
    {"invalid wire type", std::string("\xff\xff\xff\xff\x7f", 5)},
    {"overlong length", std::string("\x0a\xff\xff\xff\xff\x0f", 6)},
    {"truncated varint", std::string("\x08\x80", 2)},
};

// Runs the garbage calls in a child; returns false if it crashed or hung.
void CheckGarbageInChild(const kaigo_plugin_api* api, const std::vector<std::string>& methods,
                         const std::string& settings,
                         const std::vector<std::pair<std::string, std::string>>& secrets) {
  int fds[2];
  if (pipe(fds) != 0) {
    Report(false, "could not create a pipe");
    return;
  }
  std::cout.flush();
  pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    FILE* out = fdopen(fds[1], "w");
    setvbuf(out, nullptr, _IONBF, 0);
    kaigo::sdk::testing::FakeHost host;
    for (const auto& [name, value] : secrets) host.SetSecret(name, value);
    absl::Status loaded = host.Load(api, settings);
    fprintf(out, "%s create an instance%s%s\n", loaded.ok() ? "ok" : "FAIL",
            loaded.ok() ? "" : ": ", std::string(loaded.message()).c_str());
    if (!loaded.ok()) _exit(0);
    for (const auto& method : methods) {
      for (const auto& [kind, bytes] : kGarbage) {
        fprintf(out, "CALLING %s (%s)\n", method.c_str(), kind.c_str());
        auto result = host.Call(method, bytes, absl::Seconds(5));
        bool ok = result.status.code() == absl::StatusCode::kInvalidArgument;
        fprintf(out, "%s %s answers %s with INVALID_ARGUMENT (got %s: %s)\n", ok ? "ok" : "FAIL",
                method.c_str(), kind.c_str(),
                absl::StatusCodeToString(result.status.code()).c_str(),
                std::string(result.status.message()).c_str());
      }
    }
    host.Unload();
    fprintf(out, "DONE\n");
    _exit(0);
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  std::string calling;
  bool done = false;
  char line[4096];
  while (fgets(line, sizeof line, in) != nullptr) {
    std::string l(line);
    if (!l.empty() && l.back() == '\n') l.pop_back();
    if (l.rfind("CALLING ", 0) == 0) {
      calling = l.substr(8);
    } else if (l == "DONE") {
      done = true;
    } else if (l.rfind("ok ", 0) == 0) {
      Report(true, l.substr(3));
    } else if (l.rfind("FAIL ", 0) == 0) {
      Report(false, l.substr(5));
    }
  }
  fclose(in);
  int status = 0;
  waitpid(child, &status, 0);
  if (WIFSIGNALED(status)) {
    Report(false, "the plugin crashed (signal " + std::to_string(WTERMSIG(status)) +
                      ") while handling " + (calling.empty() ? "its creation" : calling));
  } else if (!done && !calling.empty()) {
    Report(false, "the plugin stopped while handling " + calling);
  }
}

struct Options {
  std::string path;
  std::string settings_text;
  std::vector<std::pair<std::string, std::string>> secrets;
};

// The command line, or nullopt after printing why it is not one.
std::optional<Options> ParseArgs(const std::vector<std::string>& args) {
  Options options;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--settings" && i + 1 < args.size()) {
      options.settings_text = args[++i];
    } else if (args[i] == "--secret" && i + 1 < args.size()) {
      std::string binding = args[++i];
      size_t eq = binding.find('=');
      if (eq == std::string::npos) {
        std::cerr << "--secret takes NAME=VALUE\n";
        return std::nullopt;
      }
      options.secrets.emplace_back(binding.substr(0, eq), binding.substr(eq + 1));
    } else if (options.path.empty()) {
      options.path = args[i];
    } else {
      options.path.clear();
      break;
    }
  }
  if (options.path.empty()) {
    std::cerr << "usage: kaigo-plugin-check LIB.so [--settings TEXTPROTO] [--secret NAME=VALUE]…\n";
    return std::nullopt;
  }
  return options;
}

// Loads the image as the engine does (refusing another libkaigo_proto before loading it) and
// returns its checked table, or null after reporting why there is none.
const kaigo_plugin_api* LoadTable(const std::string& path, boost::dll::shared_library& lib) {
  // A plugin built against another libkaigo_proto would load a second copy of it, on which
  // protobuf aborts: refused before loading, as the engine does.
  std::string label = std::filesystem::path(path).stem().string();
  absl::Status linked = kaigo::sdk::CheckLinkedApiRelease(label, path, "this SDK");
  Report(linked.ok(), linked.ok()
                          ? "links " + std::string(kaigo::sdk::kProtoSoname) + " (kaigo API " +
                                std::string(kaigo::sdk::kApiRelease) + ") or no libkaigo_proto"
                          : std::string(linked.message()));
  if (!linked.ok()) return nullptr;
  boost::system::error_code ec;
  lib.load(boost::dll::fs::path(path),
           boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    Report(false, "load " + path + ": " + ec.message());
    return nullptr;
  }
  if (!lib.has(KAIGO_PLUGIN_ENTRY_SYMBOL)) {
    Report(false, "the image exports no " KAIGO_PLUGIN_ENTRY_SYMBOL " symbol");
    return nullptr;
  }
  auto entry = lib.get<const kaigo_plugin_api*(uint32_t)>(KAIGO_PLUGIN_ENTRY_SYMBOL);
  const kaigo_plugin_api* api = entry(KAIGO_ABI_VERSION);
  absl::Status table = kaigo::sdk::internal::CheckPluginTable(api);
  Report(table.ok(), table.ok() ? "plugin table: ABI version " + std::to_string(api->abi_version) +
                                      ", size " + std::to_string(api->struct_size)
                                : std::string(table.message()));
  return table.ok() ? api : nullptr;
}

// Prints the releases the plugin was built with; false if this SDK refuses its API release.
bool CheckReleases(const kaigo::sdk::internal::ImageManifest& m) {
  std::cout << "      built with kaigo SDK "
            << (m.sdk_version.empty() ? "(not stated)" : m.sdk_version) << ", kaigo API "
            << (m.api_release.empty() ? "(none)" : m.api_release)
            << "; this SDK: " << kaigo::sdk::kSdkVersion << ", kaigo API "
            << kaigo::sdk::kApiRelease << "\n";
  absl::Status release = kaigo::sdk::CheckManifestApiRelease(m.name, m.api_release, "this SDK");
  Report(release.ok(), release.ok()
                           ? (m.api_release.empty()
                                  ? "the manifest names no kaigo API release (the "
                                    "plugin links no libkaigo_proto)"
                                  : "manifest kaigo API release " + m.api_release +
                                        " is this SDK's " + std::string(kaigo::sdk::kProtoSoname))
                           : std::string(release.message()));
  return release.ok();
}

// The --settings text as the serialized settings message; nullopt after reporting a failure.
std::optional<std::string> SerializedSettings(const std::string& text,
                                              const kaigo::sdk::internal::CheckedManifest& checked,
                                              const std::string& config_type) {
  if (text.empty()) return std::string();
  if (checked.config_type == nullptr) {
    Report(false, "--settings given, but the plugin names no settings type");
    return std::nullopt;
  }
  google::protobuf::DynamicMessageFactory factory(checked.pool.get());
  std::unique_ptr<google::protobuf::Message> message(
      factory.GetPrototype(checked.config_type)->New());
  bool parsed = google::protobuf::TextFormat::ParseFromString(text, message.get());
  Report(parsed, "--settings parse as " + config_type);
  if (!parsed) return std::nullopt;
  return message->SerializeAsString();
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Options> options = ParseArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!options) return 2;
  boost::dll::shared_library lib;
  const kaigo_plugin_api* api = LoadTable(options->path, lib);
  if (api == nullptr) return 1;
  kaigo::sdk::internal::ImageManifest manifest = kaigo::sdk::internal::ReadManifest(*api->manifest);
  if (!CheckReleases(manifest)) return 1;
  // The engine's rules (kaigo/sdk/internal/manifest_check.h), every one reported.
  kaigo::sdk::internal::CheckedManifest checked = kaigo::sdk::internal::CheckManifest(
      manifest, [](const kaigo::sdk::internal::ManifestFinding& f) { Report(f.passed, f.rule); });
  if (checked.descriptors_built) {
    std::vector<std::string> methods;
    for (const auto& method : checked.methods) methods.push_back(method.path);
    std::optional<std::string> settings =
        SerializedSettings(options->settings_text, checked, manifest.config_type);
    if (settings) CheckGarbageInChild(api, methods, *settings, options->secrets);
  }
  std::cout << (failures == 0 ? "PASS " : "FAILED ") << options->path << ": " << failures
            << " failure(s)\n";
  return failures == 0 ? 0 : 1;
}

// kaigo-plugin-check LIB.so [--settings TEXTPROTO] [--secret NAME=VALUE]…
//
// --settings are the plugin's settings in protobuf text format, checked against the settings type
// its manifest names; --secret binds office secrets for the instance (a plugin that reads its
// credentials at creation needs them; no network is used).
// Loads a plugin image the way the engine does and checks that it keeps the ABI contract:
//  - it links this SDK's libkaigo_proto or none (checked before loading it), and its manifest
//    names this SDK's kaigo API release (MAJOR.MINOR) or none; it prints the SDK version and the
//    API release the plugin was built with;
//  - it exports kaigo_plugin_entry, and returns a table of ABI version 1 and a sane size;
//  - its manifest has a name, a version, a known status and at least one service;
//  - its FileDescriptorSet builds on its own and declares every listed service (and the config
//    type); no method is client-streaming;
//  - an instance can be created (with default or the given settings), and every method answers
//    three kinds of
//    malformed request bytes with INVALID_ARGUMENT, in time, without crashing.
// The calls run in a child process so that a crash is reported, not suffered.
// Prints one line per check; exits 0 when all pass, 1 otherwise.
#include <sys/wait.h>
#include <unistd.h>

#include <boost/dll/shared_library.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/text_format.h"
#include "kaigo/plugin.h"
#include "kaigo/sdk/abi.h"
#include "kaigo/sdk/api_release.h"
#include "kaigo/sdk/fake_host.h"

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

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string path, settings_text;
  std::vector<std::pair<std::string, std::string>> secrets;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--settings" && i + 1 < args.size()) {
      settings_text = args[++i];
    } else if (args[i] == "--secret" && i + 1 < args.size()) {
      std::string binding = args[++i];
      size_t eq = binding.find('=');
      if (eq == std::string::npos) {
        std::cerr << "--secret takes NAME=VALUE\n";
        return 2;
      }
      secrets.emplace_back(binding.substr(0, eq), binding.substr(eq + 1));
    } else if (path.empty()) {
      path = args[i];
    } else {
      path.clear();
      break;
    }
  }
  if (path.empty()) {
    std::cerr << "usage: kaigo-plugin-check LIB.so [--settings TEXTPROTO] [--secret NAME=VALUE]…\n";
    return 2;
  }
  // A plugin built against another libkaigo_proto would load a second copy of it, on which
  // protobuf aborts: refused before loading, as the engine does.
  std::string label = std::filesystem::path(path).stem().string();
  absl::Status linked = kaigo::sdk::CheckLinkedApiRelease(label, path, "this SDK");
  Report(linked.ok(), linked.ok()
                          ? "links " + std::string(kaigo::sdk::kProtoSoname) + " (kaigo API " +
                                std::string(kaigo::sdk::kApiRelease) + ") or no libkaigo_proto"
                          : std::string(linked.message()));
  if (!linked.ok()) return 1;
  boost::dll::shared_library lib;
  boost::system::error_code ec;
  lib.load(boost::dll::fs::path(path),
           boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    Report(false, "load " + path + ": " + ec.message());
    return 1;
  }
  if (!lib.has(KAIGO_PLUGIN_ENTRY_SYMBOL)) {
    Report(false, "the image exports no " KAIGO_PLUGIN_ENTRY_SYMBOL " symbol");
    return 1;
  }
  auto entry = lib.get<const kaigo_plugin_api*(uint32_t)>(KAIGO_PLUGIN_ENTRY_SYMBOL);
  const kaigo_plugin_api* api = entry(KAIGO_ABI_VERSION);
  if (api == nullptr) {
    Report(false, "kaigo_plugin_entry(1) returned no table: the plugin does not speak ABI 1");
    return 1;
  }
  Report(api->abi_version == KAIGO_ABI_VERSION && api->struct_size >= sizeof(kaigo_plugin_api),
         "plugin table: ABI version " + std::to_string(api->abi_version) + ", size " +
             std::to_string(api->struct_size));
  const kaigo_manifest* m = api->manifest;
  if (m == nullptr || !KAIGO_HAS_FIELD(m, kaigo_manifest, config_type)) {
    Report(false, "the plugin table has no complete manifest");
    return 1;
  }
  auto str = [](const char* s) { return std::string(s == nullptr ? "" : s); };
  std::string name = str(m->name);
  std::string sdk_version, api_release;
  if (KAIGO_HAS_FIELD(m, kaigo_manifest, api_release)) {
    sdk_version = str(m->sdk_version);
    api_release = str(m->api_release);
  }
  std::cout << "      built with kaigo SDK " << (sdk_version.empty() ? "(not stated)" : sdk_version)
            << ", kaigo API " << (api_release.empty() ? "(none)" : api_release)
            << "; this SDK: " << kaigo::sdk::kSdkVersion << ", kaigo API "
            << kaigo::sdk::kApiRelease << "\n";
  absl::Status release = kaigo::sdk::CheckManifestApiRelease(name, api_release, "this SDK");
  Report(release.ok(),
         release.ok()
             ? (api_release.empty() ? "the manifest names no kaigo API release (the "
                                      "plugin links no libkaigo_proto)"
                                    : "manifest kaigo API release " + api_release +
                                          " is this SDK's " + std::string(kaigo::sdk::kProtoSoname))
             : std::string(release.message()));
  if (!release.ok()) return 1;
  Report(std::regex_match(name, std::regex("[a-z0-9_]+")),
         "manifest name '" + name + "' is [a-z0-9_]+");
  Report(std::regex_match(str(m->version), std::regex("[0-9]+\\.[0-9]+\\.[0-9]+.*")),
         "manifest version '" + str(m->version) + "' is a semantic version");
  std::set<std::string> statuses = {"stable", "alpha", "experimental"};
  Report(statuses.count(str(m->status)) > 0,
         "manifest status '" + str(m->status) + "' is stable, alpha or experimental");
  Report(m->service_count > 0,
         "manifest lists " + std::to_string(m->service_count) + " service(s)");

  google::protobuf::FileDescriptorSet set;
  bool parsed = set.ParseFromArray(m->file_descriptor_set.data,
                                   static_cast<int>(m->file_descriptor_set.size));
  Report(parsed, "the FileDescriptorSet parses (" + std::to_string(set.file_size()) + " files)");
  google::protobuf::DescriptorPool pool;
  bool built = parsed;
  for (const auto& file : set.file()) {
    if (pool.BuildFile(file) == nullptr) {
      Report(false, "descriptor file " + file.name() + " does not build (missing dependency?)");
      built = false;
    }
  }
  std::vector<std::string> methods;
  for (size_t i = 0; built && i < m->service_count; ++i) {
    std::string service = str(m->services[i]);
    const auto* s = pool.FindServiceByName(service);
    Report(s != nullptr, "service " + service + " is declared in the descriptors");
    if (s == nullptr) continue;
    for (int j = 0; j < s->method_count(); ++j) {
      const auto* method = s->method(j);
      std::string path = "/" + service + "/" + method->name();
      if (method->client_streaming()) {
        Report(false, path + " is client-streaming, which the ABI does not carry");
        continue;
      }
      methods.push_back(path);
    }
  }
  std::string config_type = str(m->config_type);
  const google::protobuf::Descriptor* settings_type = nullptr;
  if (built && !config_type.empty()) {
    settings_type = pool.FindMessageTypeByName(config_type);
    Report(settings_type != nullptr,
           "config type " + config_type + " is declared in the descriptors");
  }
  std::string settings;
  if (!settings_text.empty()) {
    if (settings_type == nullptr) {
      Report(false, "--settings given, but the plugin names no settings type");
      built = false;
    } else {
      google::protobuf::DynamicMessageFactory factory(&pool);
      std::unique_ptr<google::protobuf::Message> message(
          factory.GetPrototype(settings_type)->New());
      bool parsed_settings =
          google::protobuf::TextFormat::ParseFromString(settings_text, message.get());
      Report(parsed_settings, "--settings parse as " + config_type);
      built = built && parsed_settings;
      settings = message->SerializeAsString();
    }
  }
  if (built) CheckGarbageInChild(api, methods, settings, secrets);
  std::cout << (failures == 0 ? "PASS " : "FAILED ") << path << ": " << failures << " failure(s)\n";
  return failures == 0 ? 0 : 1;
}

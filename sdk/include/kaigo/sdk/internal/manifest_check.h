// The one check of a plugin image's table and manifest, shared by every program that reads one:
// the engine's loader (in process, and for an isolated image the manifest its process reports),
// kaigo-plugin-host and kaigo-plugin-check. Not installed: hosts' business, not a vendor's.
//
// The rules, in the order they are checked:
//  - the table: kaigo_plugin_entry(1) returned one, of ABI version 1, holding every field up to
//    call_cancel (a plugin built with an older plugin.h may lack fields appended since), with a
//    manifest holding every field up to config_type;
//  - the manifest: a name of [a-z0-9_]+, a semantic version, a status of stable, alpha or
//    experimental, at least one service;
//  - its FileDescriptorSet parses and every file builds on its own (dependencies first); each
//    listed service is declared in it, none of their methods is client-streaming (the ABI carries
//    none), and the config type, when named, is declared in it.
// The API release a manifest names is checked apart (kaigo/sdk/api_release.h): it is refused
// with its own code, naming both releases.
//
//   auto checked = CheckManifest(ReadManifest(*api->manifest));
//   if (!checked.status.ok()) return checked.status;
//
// Thread-safe: functions only.
#ifndef KAIGO_SDK_INTERNAL_MANIFEST_CHECK_H_
#define KAIGO_SDK_INTERNAL_MANIFEST_CHECK_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "kaigo/plugin.h"

namespace kaigo::sdk::internal {

// A plugin image's manifest as data: read from its kaigo_manifest, or reported by the process
// that loaded it (an isolated image). Fields a manifest does not have are empty.
struct ImageManifest {
  std::string name, version, vendor, status, security_posture, config_type;
  std::vector<std::string> services, calls;
  std::string file_descriptor_set;  // serialized FileDescriptorSet
  std::string sdk_version, api_release;
};

// FailedPrecondition unless `api` is a table this SDK can use (the first rule above).
absl::Status CheckPluginTable(const kaigo_plugin_api* api);

// The manifest of a table CheckPluginTable accepted.
ImageManifest ReadManifest(const kaigo_manifest& manifest);

// One rule applied: `rule` states it ("service X is declared in the descriptors"), `failure` says
// how the manifest broke it.
struct ManifestFinding {
  bool passed = false;
  std::string rule;
  std::string failure;
};

struct CheckedMethod {
  std::string path;  // "/kaigo.v1.OtpService/RequestOtp"
  std::string service;
  bool server_streaming = false;
};

// What CheckManifest found. Every rule is applied even after one fails (kaigo-plugin-check reports
// them all), so the descriptors may be built while `status` is an error.
struct CheckedManifest {
  absl::Status status;             // OK, or InvalidArgument with the first failure
  bool descriptors_built = false;  // the set parsed and every file of it built
  google::protobuf::FileDescriptorSet files;
  std::unique_ptr<google::protobuf::DescriptorPool> pool;  // built from `files`
  std::vector<CheckedMethod> methods;  // of every declared service, client-streaming ones left out
  const google::protobuf::Descriptor* config_type = nullptr;  // in `pool`; null if none
};

// Applies the manifest and descriptor rules above, telling `report` (if set) of each.
CheckedManifest CheckManifest(const ImageManifest& manifest,
                              const std::function<void(const ManifestFinding&)>& report = {});

}  // namespace kaigo::sdk::internal

#endif  // KAIGO_SDK_INTERNAL_MANIFEST_CHECK_H_

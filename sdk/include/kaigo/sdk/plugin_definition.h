// Declaring a plugin: its manifest and its instance factory, exported through the C ABI by one
// macro.
//
//   kaigo::sdk::PluginDefinition Define() {
//     kaigo::sdk::PluginDefinition d;
//     d.name = "otp_relay";
//     d.version = "1.0.0";
//     d.services = {kaigo::sdk::FindService("kaigo.v1.OtpService")};
//     d.config_type = kaigo::plugins::v1::OtpRelayConfig::descriptor();
//     d.create = [](kaigo::sdk::HostServices host, const kaigo::sdk::InstanceContext& context,
//                   std::string_view config) -> absl::StatusOr<std::unique_ptr<Instance>> {...};
//     return d;
//   }
//   KAIGO_PLUGIN(Define)
//
// The manifest's FileDescriptorSet is built from the services' files and all their dependencies,
// so the engine can route and reflect services it was built without. Its sdk_version and
// api_release are those of the headers the file with KAIGO_PLUGIN compiles against
// (kaigo/version.h), so the engine can refuse a plugin built against another API release.
#ifndef KAIGO_SDK_PLUGIN_DEFINITION_H_
#define KAIGO_SDK_PLUGIN_DEFINITION_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "kaigo/plugin.h"
#include "kaigo/sdk/host_services.h"
#include "kaigo/sdk/instance.h"
#include "kaigo/version.h"

namespace kaigo::sdk {

struct InstanceContext {
  std::string office;  // 介護保険事業所番号 the instance serves
  std::string plugin_name;
};

struct PluginDefinition {
  std::string name;
  std::string version;
  std::string vendor;
  std::string status = "alpha";
  std::string security_posture;
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  const google::protobuf::Descriptor* config_type = nullptr;
  // Methods of other concerns the plugin calls through the host (full paths); the host refuses
  // any other.
  std::vector<std::string> calls;
  std::function<absl::StatusOr<std::unique_ptr<Instance>>(
      HostServices host, const InstanceContext& context, std::string_view config)>
      create;
};

// The service with this full name from the generated pool, or nullptr.
const google::protobuf::ServiceDescriptor* FindService(std::string_view full_name);

// Parses the serialized settings the host passes at creation; empty bytes give the defaults.
template <class Config>
absl::StatusOr<Config> ParseConfig(std::string_view bytes) {
  Config config;
  if (!config.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("settings are not a valid " +
                                      Config::descriptor()->full_name());
  }
  return config;
}

namespace internal {
// `sdk_version` and `api_release` are string literals: those of kaigo/version.h where the caller
// compiles (unit tests call Export directly, with the defaults).
const kaigo_plugin_api* Export(uint32_t host_abi_version, PluginDefinition (*define)(),
                               const char* sdk_version = KAIGO_SDK_VERSION,
                               const char* api_release = KAIGO_API_RELEASE);
// The serialized FileDescriptorSet of `services` and their transitive dependencies.
std::string DescriptorSetFor(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services,
    const google::protobuf::Descriptor* config_type);
}  // namespace internal

}  // namespace kaigo::sdk

#define KAIGO_PLUGIN(define_fn)                                                                 \
  extern "C" __attribute__((visibility("default"))) const kaigo_plugin_api* kaigo_plugin_entry( \
      uint32_t host_abi_version) {                                                              \
    return ::kaigo::sdk::internal::Export(host_abi_version, &define_fn, KAIGO_SDK_VERSION,      \
                                          KAIGO_API_RELEASE);                                   \
  }

#endif  // KAIGO_SDK_PLUGIN_DEFINITION_H_

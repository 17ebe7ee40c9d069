// Declaring a plugin: its manifest and its instance factory, exported through the C ABI by one
// macro. DefinePlugin does what every plugin's definition would repeat (after Envoy's
// FactoryBase<ConfigProto>): it finds the services by name, names the settings type and parses
// the settings before the plugin's factory sees them.
//
//   kaigo::sdk::PluginDefinition Define() {
//     kaigo::sdk::PluginManifest manifest;
//     manifest.name = "otp_relay";
//     manifest.version = "1.0.0";
//     manifest.services = {"kaigo.v1.OtpService"};
//     return kaigo::sdk::DefinePlugin<OtpRelayConfig>(
//         std::move(manifest),
//         [](kaigo::sdk::HostServices host, const kaigo::sdk::InstanceContext& context,
//            OtpRelayConfig config) -> absl::StatusOr<std::unique_ptr<kaigo::sdk::Instance>> {
//           return std::make_unique<OtpRelay>(std::move(host), std::move(config));
//         });
//   }
//   KAIGO_PLUGIN(Define)
//
// Unit tests load a definition into the fake host through the same export:
//   host.Load(kaigo::sdk::ExportPlugin(Define()));
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

// What a plugin states about itself, apart from how it makes an instance.
struct PluginManifest {
  std::string name;
  std::string version;
  std::string vendor;
  std::string status = "alpha";
  std::string security_posture;
  // Full names ("kaigo.v1.OtpService") of services in the generated pool: the image links their
  // generated code.
  std::vector<std::string> services;
  // Methods of other concerns the plugin calls through the host (full paths).
  std::vector<std::string> calls;
};

// The definition of a plugin whose settings are the message `Config`. `create` is called as
// create(HostServices host, const InstanceContext& context, Config config) with the settings
// parsed (empty bytes: the defaults), and returns absl::StatusOr<std::unique_ptr<Instance>>.
// Settings that do not parse, or a service missing from the generated pool, fail the creation
// with the reason.
template <class Config, class Create>
PluginDefinition DefinePlugin(PluginManifest manifest, Create create) {
  PluginDefinition d;
  d.name = std::move(manifest.name);
  d.version = std::move(manifest.version);
  d.vendor = std::move(manifest.vendor);
  d.status = std::move(manifest.status);
  d.security_posture = std::move(manifest.security_posture);
  d.calls = std::move(manifest.calls);
  std::string missing;
  for (const std::string& name : manifest.services) {
    if (const auto* service = FindService(name)) {
      d.services.push_back(service);
    } else {
      missing = name;
    }
  }
  d.config_type = Config::descriptor();
  d.create = [create = std::move(create), missing](
                 HostServices host, const InstanceContext& context,
                 std::string_view settings) -> absl::StatusOr<std::unique_ptr<Instance>> {
    if (!missing.empty()) {
      return absl::FailedPreconditionError("service " + missing +
                                           " is not in the image (its generated code not linked)");
    }
    absl::StatusOr<Config> config = ParseConfig<Config>(settings);
    if (!config.ok()) return config.status();
    return create(std::move(host), context, *std::move(config));
  };
  return d;
}

// At most this many definitions are exported per process: each table needs an entry point of its
// own (kaigo_plugin_api.create carries nothing that names the definition).
inline constexpr size_t kMaxExportedPlugins = 64;

// The C table of `definition`: what kaigo_plugin_entry returns (KAIGO_PLUGIN), and what a unit test
// hands the fake host. Each call exports its own table, which lives as long as the process (the
// ABI's contract); null once kMaxExportedPlugins were exported. `sdk_version` and `api_release`
// are string literals: those of kaigo/version.h where the caller compiles. Thread-safe.
const kaigo_plugin_api* ExportPlugin(PluginDefinition definition,
                                     const char* sdk_version = KAIGO_SDK_VERSION,
                                     const char* api_release = KAIGO_API_RELEASE);

namespace internal {
// ExportPlugin(define()), once per `define`: later calls with the same function return the same
// table. For tests written before ExportPlugin; new code calls ExportPlugin. Null if
// `host_abi_version` is not this SDK's.
const kaigo_plugin_api* Export(uint32_t host_abi_version, PluginDefinition (*define)(),
                               const char* sdk_version = KAIGO_SDK_VERSION,
                               const char* api_release = KAIGO_API_RELEASE);
// The serialized FileDescriptorSet of `services` and their transitive dependencies.
std::string DescriptorSetFor(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services,
    const google::protobuf::Descriptor* config_type);
}  // namespace internal

}  // namespace kaigo::sdk

// The image's entry point: `define_fn`'s definition, exported on the first call.
#define KAIGO_PLUGIN(define_fn)                                                                 \
  extern "C" __attribute__((visibility("default"))) const kaigo_plugin_api* kaigo_plugin_entry( \
      uint32_t host_abi_version) {                                                              \
    if (host_abi_version != KAIGO_ABI_VERSION) return nullptr;                                  \
    static const kaigo_plugin_api* const api =                                                  \
        ::kaigo::sdk::ExportPlugin(define_fn(), KAIGO_SDK_VERSION, KAIGO_API_RELEASE);          \
    return api;                                                                                 \
  }

#endif  // KAIGO_SDK_PLUGIN_DEFINITION_H_

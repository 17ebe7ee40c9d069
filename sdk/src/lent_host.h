// For tests of SDK helpers that take a HostServices: a plugin that only lends the test the
// HostServices the fake host gives it (serving kaigo.v1.OtpService, whose messages the tests use).
#ifndef KAIGO_SDK_SRC_LENT_HOST_H_
#define KAIGO_SDK_SRC_LENT_HOST_H_

#include <memory>
#include <optional>
#include <string_view>

#include "kaigo/sdk/plugin_definition.h"

namespace kaigo::sdk {

// Set while the lending plugin's instance exists; one test at a time.
inline std::optional<HostServices>& LentHost() {
  static std::optional<HostServices> host;
  return host;
}

inline PluginDefinition LendingPlugin() {
  PluginDefinition d;
  d.name = "host_lender";
  d.version = "0.0.1";
  d.vendor = "test";
  d.services = {FindService("kaigo.v1.OtpService")};
  d.create = [](HostServices host, const InstanceContext&,
                std::string_view) -> absl::StatusOr<std::unique_ptr<Instance>> {
    LentHost() = host;
    return std::make_unique<Instance>(std::move(host));
  };
  return d;
}

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_SRC_LENT_HOST_H_

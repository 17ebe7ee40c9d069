// Builds a PlatformClient from a plugin's PlatformConnection settings, reading the certificate,
// CA and credentials from the office's secrets through the host. Blocks on the host's secret
// store; call from create or a worker thread.
#ifndef KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_CONNECTION_H_
#define KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_CONNECTION_H_

#include <memory>

#include "absl/status/statusor.h"
#include "kaigo/plugins/v1/platform.pb.h"
#include "kaigo/sdk/host_services.h"
#include "platform_client.h"

namespace kaigo::platform {

// INVALID_ARGUMENT naming the settings field for a missing URL or secret name;
// FAILED_PRECONDITION naming the secret when the office has not bound it. Without
// `needs_web_user`, the web-service user and password may be left out (portal pages only).
absl::StatusOr<std::unique_ptr<PlatformClient>> ConnectPlatform(
    const kaigo::plugins::v1::PlatformConnection& settings, const sdk::HostServices& host,
    bool needs_web_user = true);

}  // namespace kaigo::platform

#endif  // KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_CONNECTION_H_

// The `proxy` setting of the plugins that reach a server outside (the platform, the office
// mailbox): an HTTP proxy they tunnel through with CONNECT. Pure; thread-safe.
#ifndef KAIGO_PLUGINS_COMMON_PROXY_URL_PROXY_URL_H_
#define KAIGO_PLUGINS_COMMON_PROXY_URL_PROXY_URL_H_

#include <string>

#include "absl/status/status.h"

namespace kaigo::platform {

// OK for "" (no proxy) and "http://host:port"; else INVALID_ARGUMENT naming `field` and the rule.
// Credentials in the URL are refused: they belong in a secret.
absl::Status CheckProxyUrl(const std::string& field, const std::string& url);

}  // namespace kaigo::platform

#endif  // KAIGO_PLUGINS_COMMON_PROXY_URL_PROXY_URL_H_

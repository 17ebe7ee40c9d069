#include "proxy_url.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"

namespace kaigo::platform {

absl::Status CheckProxyUrl(const std::string& field, const std::string& url) {
  if (url.empty()) return absl::OkStatus();
  constexpr absl::string_view kScheme = "http://";
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, kScheme)) {
    return absl::InvalidArgumentError(field + ": must be http://host:port (an HTTP proxy)");
  }
  absl::string_view authority = rest.substr(0, rest.find('/'));
  if (absl::StrContains(authority, "@")) {
    return absl::InvalidArgumentError(
        field + ": must not hold credentials; name a secret in proxy_credentials_secret");
  }
  size_t colon = authority.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(authority.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(field + ": must be http://host:port with a port of 1–65535");
  }
  return absl::OkStatus();
}

}  // namespace kaigo::platform

#include "platform_connection.h"

namespace kaigo::platform {

absl::StatusOr<std::unique_ptr<PlatformClient>> ConnectPlatform(
    const kaigo::plugins::v1::PlatformConnection& settings, const sdk::HostServices& host,
    bool needs_web_user) {
  if (settings.base_url().empty()) {
    return absl::InvalidArgumentError("platform.base_url: required (https://…)");
  }
  ClientOptions options;
  options.base_url = settings.base_url();
  options.now = [host] { return host.Now(); };
  struct Secret {
    const char* field;
    const std::string& name;
    std::string* into;
  };
  const Secret secrets[] = {
      {"platform.ca_secret", settings.ca_secret(), &options.ca_pem},
      {"platform.certificate_secret", settings.certificate_secret(), &options.client_p12},
      {"platform.certificate_password_secret", settings.certificate_password_secret(),
       &options.client_p12_password},
      {"platform.user_id_secret", settings.user_id_secret(), &options.user_id},
      {"platform.password_secret", settings.password_secret(), &options.password}};
  for (const auto& s : secrets) {
    bool web_user = s.into == &options.user_id || s.into == &options.password;
    if (s.name.empty() && web_user && !needs_web_user) continue;
    if (s.name.empty()) {
      return absl::InvalidArgumentError(std::string(s.field) + ": required (a secret name)");
    }
    auto value = host.Secret(s.name);
    if (!value.ok()) {
      return absl::FailedPreconditionError(std::string(s.field) + ": the office binds no secret '" +
                                           s.name + "'");
    }
    *s.into = *std::move(value);
  }
  if (settings.timeout_ms() > 0) options.timeout = absl::Milliseconds(settings.timeout_ms());
  if (settings.max_attempts() > 0) options.max_attempts = settings.max_attempts();
  return PlatformClient::Create(std::move(options));
}

}  // namespace kaigo::platform

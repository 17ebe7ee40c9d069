#include "platform_connection.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kaigo/sdk/roles.h"
#include "kaigo/v1/common.pb.h"
#include "proxy_url.h"

namespace kaigo::platform {

namespace {

// The role's place among the office roles (kaigo/sdk/roles.h), the order accounts are kept in;
// -1 for one that is not an office role.
int Precedence(kaigo::options::v1::Role role) {
  const auto& roles = sdk::OfficeRoles();
  auto it = std::find(roles.begin(), roles.end(), sdk::RoleName(role));
  return it == roles.end() ? -1 : static_cast<int>(it - roles.begin());
}

// The value of the secret `name` names, for the settings field `field`.
absl::StatusOr<std::string> ReadSecret(const sdk::HostServices& host, const std::string& field,
                                       const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError(field + ": required (a secret name)");
  auto value = host.Secret(name);
  if (!value.ok()) {
    return absl::FailedPreconditionError(field + ": the office binds no secret '" + name + "'");
  }
  return value;
}

// The role accounts' settings, checked before any secret is read.
absl::Status CheckAccounts(const kaigo::plugins::v1::PlatformConnection& settings) {
  std::vector<kaigo::options::v1::Role> seen;
  for (int i = 0; i < settings.accounts_size(); ++i) {
    const auto& account = settings.accounts(i);
    std::string field = absl::StrCat("platform.accounts[", i, "]");
    if (Precedence(account.role()) < 0) {
      return absl::InvalidArgumentError(
          account.role() == kaigo::options::v1::ROLE_UNSPECIFIED
              ? field + ".role: required (" + absl::StrJoin(sdk::OfficeRoles(), ", ") + ")"
              : field + ".role: " + sdk::RoleName(account.role()) + " is not an office role (" +
                    absl::StrJoin(sdk::OfficeRoles(), ", ") + ")");
    }
    if (std::find(seen.begin(), seen.end(), account.role()) != seen.end()) {
      return absl::InvalidArgumentError(field + ".role: " + sdk::RoleName(account.role()) +
                                        " is bound twice");
    }
    seen.push_back(account.role());
    if (account.user_id_secret().empty()) {
      return absl::InvalidArgumentError(field + ".user_id_secret: required (a secret name)");
    }
    if (account.password_secret().empty()) {
      return absl::InvalidArgumentError(field + ".password_secret: required (a secret name)");
    }
  }

  return absl::OkStatus();
}

// What every user's client shares: the platform, the office's certificate, limits and proxy.
absl::StatusOr<ClientOptions> CommonOptions(const kaigo::plugins::v1::PlatformConnection& settings,
                                            const sdk::HostServices& host) {
  ClientOptions common;
  common.base_url = settings.base_url();
  common.now = [host] { return host.Now(); };
  struct Secret {
    const char* field;
    const std::string& name;
    std::string* into;
  };
  const Secret secrets[] = {
      {"platform.ca_secret", settings.ca_secret(), &common.ca_pem},
      {"platform.certificate_secret", settings.certificate_secret(), &common.client_p12},
      {"platform.certificate_password_secret", settings.certificate_password_secret(),
       &common.client_p12_password}};
  for (const auto& s : secrets) {
    auto value = ReadSecret(host, s.field, s.name);
    if (!value.ok()) return value.status();
    *s.into = *std::move(value);
  }
  if (settings.timeout_ms() > 0) common.timeout = absl::Milliseconds(settings.timeout_ms());
  if (settings.max_attempts() > 0) common.max_attempts = settings.max_attempts();
  if (settings.max_call_ms() > 0) common.max_call = absl::Milliseconds(settings.max_call_ms());
  if (settings.max_answer_bytes() > 0) common.max_answer_bytes = settings.max_answer_bytes();
  if (absl::Status proxy = CheckProxyUrl("platform.proxy", settings.proxy()); !proxy.ok()) {
    return proxy;
  }
  common.proxy = settings.proxy();
  if (!settings.proxy_credentials_secret().empty()) {
    auto credentials =
        ReadSecret(host, "platform.proxy_credentials_secret", settings.proxy_credentials_secret());
    if (!credentials.ok()) return credentials.status();
    common.proxy_credentials = *std::move(credentials);
  }

  return common;
}

}  // namespace

absl::StatusOr<PlatformAccounts> PlatformAccounts::Connect(
    const kaigo::plugins::v1::PlatformConnection& settings, const sdk::HostServices& host,
    bool needs_web_user, const ClientFactory& make_client) {
  if (settings.base_url().empty()) {
    return absl::InvalidArgumentError("platform.base_url: required (https://…)");
  }
  // Every role once, an office role, with both secret names: checked before any secret is read.
  if (absl::Status accounts = CheckAccounts(settings); !accounts.ok()) return accounts;
  auto common_options = CommonOptions(settings, host);
  if (!common_options.ok()) return common_options.status();
  const ClientOptions& common = *common_options;

  // One client per user, from the common options with that user's credentials.
  auto client_of = [&](const std::string& field, const std::string& user_id_secret,
                       const std::string& password_secret,
                       bool required) -> absl::StatusOr<std::unique_ptr<PlatformApi>> {
    ClientOptions options = common;
    if (required || !user_id_secret.empty()) {
      auto user_id = ReadSecret(host, field + "user_id_secret", user_id_secret);
      if (!user_id.ok()) return user_id.status();
      options.user_id = *std::move(user_id);
    }
    if (required || !password_secret.empty()) {
      auto password = ReadSecret(host, field + "password_secret", password_secret);
      if (!password.ok()) return password.status();
      options.password = *std::move(password);
    }
    if (make_client) return make_client(options);
    auto client = PlatformClient::Create(std::move(options));
    if (!client.ok()) return client.status();
    return std::unique_ptr<PlatformApi>(*std::move(client));
  };

  PlatformAccounts accounts;
  auto default_client =
      client_of("platform.", settings.user_id_secret(), settings.password_secret(), needs_web_user);
  if (!default_client.ok()) return default_client.status();
  accounts.default_.client = *std::move(default_client);
  std::vector<std::pair<int, PlatformAccount>> ranked;
  for (int i = 0; i < settings.accounts_size(); ++i) {
    const auto& account = settings.accounts(i);
    auto client = client_of(absl::StrCat("platform.accounts[", i, "]."), account.user_id_secret(),
                            account.password_secret(), true);
    if (!client.ok()) return client.status();
    ranked.emplace_back(Precedence(account.role()),
                        PlatformAccount{sdk::RoleName(account.role()), *std::move(client)});
  }
  std::sort(ranked.begin(), ranked.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [rank, account] : ranked) accounts.by_role_.push_back(std::move(account));
  return accounts;
}

CallClient::CallClient(PlatformApi& client, const sdk::CallBase& call) : client_(&client) {
  if (call.info().deadline_unix_ms > 0) {
    bounds_.deadline = absl::FromUnixMillis(call.info().deadline_unix_ms);
  }
  bounds_.cancelled = [&call] { return call.IsCancelled(); };
}

const PlatformAccount& PlatformAccounts::For(const sdk::CallInfo& call) const {
  if (call.roles.size() != 1) return default_;
  for (const auto& account : by_role_) {
    if (account.role == call.roles.front()) return account;
  }
  return default_;
}

std::vector<std::string> PlatformAccounts::BoundRoles() const {
  std::vector<std::string> roles;
  for (const auto& account : by_role_) roles.push_back(account.role);
  return roles;
}

}  // namespace kaigo::platform

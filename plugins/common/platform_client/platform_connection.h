// The office's web-service accounts on the platform, built from a plugin's PlatformConnection
// settings, and the one a call acts through.
//
// The platform decides what a login may see by the user's job type (職種; 別紙4: 認定情報 only
// for a 居宅介護支援 care manager). An office binds its default user (user_id_secret,
// password_secret) and may bind one more user per role (accounts); PlatformAccounts holds one
// PlatformClient per user — each its own login, all with the office's certificate — and picks
// the client for a call from the roles the engine admitted the call in (sdk::CallInfo::roles: one
// when the care system chose one with x-kaigo-role, else several):
//
//   auto accounts = platform::PlatformAccounts::Connect(config.platform(), host);
//   …
//   auto answer = accounts_.ClientFor(call).Get("/api/v1/…");
//
// ClientFor binds the account's client to the call: each request ends by the call's deadline and
// when its caller cancels, besides the connection's own maximum (max_call_ms).
//
// A call acting in one role (x-kaigo-role, or the one role its caller holds and the method allows)
// uses that role's account when the office binds one; a call acting in several roles, a role
// without an account, and work outside any call use the default user — so the default should be
// the office's least privileged web-service user.
//
// Connect reads secrets through the host and so blocks: call it from create or a worker thread.
// Once connected, a PlatformAccounts does not change and its clients are thread-safe: For() and
// the clients may be used from any thread.
#ifndef KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_CONNECTION_H_
#define KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_CONNECTION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kaigo/plugins/v1/platform_config.pb.h"
#include "kaigo/sdk/call.h"
#include "kaigo/sdk/call_context.h"
#include "kaigo/sdk/host_services.h"
#include "platform_api.h"
#include "platform_client.h"

namespace kaigo::platform {

// One web-service user of the office and its client.
struct PlatformAccount {
  std::string role;  // the role it is bound to ("care_manager"); empty for the default user
  std::unique_ptr<PlatformApi> client;
};

// A client as one call uses it: every request is bounded by that call's deadline and ends
// when its caller cancels. Cheap to copy; valid while the call and the client live.
class CallClient {
 public:
  CallClient(PlatformApi& client, const sdk::CallBase& call);

  absl::StatusOr<Response> Get(const std::string& path_and_query) const {
    return client_->Get(path_and_query, bounds_);
  }
  absl::StatusOr<Response> Post(const std::string& path, const std::string& body,
                                const IdempotencyKey& key,
                                const std::string& content_type = "application/json") const {
    return client_->Post(path, body, key, content_type, bounds_);
  }
  absl::StatusOr<Response> UnauthenticatedGet(const std::string& path,
                                              const std::string& header = "") const {
    return client_->UnauthenticatedGet(path, header, bounds_);
  }
  absl::StatusOr<Response> UnauthenticatedPost(const std::string& path, const std::string& body,
                                               const IdempotencyKey& key,
                                               const std::string& header = "") const {
    return client_->UnauthenticatedPost(path, body, key, header, bounds_);
  }

 private:
  PlatformApi* client_;
  RequestBounds bounds_;
};

class PlatformAccounts {
 public:
  // INVALID_ARGUMENT naming the settings field for a missing URL or secret name, a role that is
  // not an office role or is bound twice (platform.accounts[1].role: care_manager is bound
  // twice); FAILED_PRECONDITION naming the field when the office binds no secret of that name.
  // Without `needs_web_user`, the default user and password may be left out (portal pages only).
  // `make_client` makes each account's client from its options (empty: the real platform's
  // PlatformClient; a plugin's unit tests pass a fake's, testing/fake_platform.h).
  static absl::StatusOr<PlatformAccounts> Connect(
      const kaigo::plugins::v1::PlatformConnection& settings, const sdk::HostServices& host,
      bool needs_web_user = true, const ClientFactory& make_client = nullptr);

  PlatformAccounts(PlatformAccounts&&) = default;
  PlatformAccounts& operator=(PlatformAccounts&&) = default;

  // The account a call acting in `call.roles` uses (see the top of this file).
  const PlatformAccount& For(const sdk::CallInfo& call) const;
  // That account's client, bound to `call` (its deadline and cancellation).
  CallClient ClientFor(const sdk::CallBase& call) const {
    return CallClient(*For(call.info()).client, call);
  }
  // The default user's, for work outside any call.
  const PlatformAccount& Default() const { return default_; }
  // The roles bound to their own user, care_manager first.
  std::vector<std::string> BoundRoles() const;

 private:
  PlatformAccounts() = default;

  PlatformAccount default_;
  std::vector<PlatformAccount> by_role_;  // care_manager, care_staff, medical, office_admin
};

}  // namespace kaigo::platform

#endif  // KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_CONNECTION_H_

// For plugin unit tests on the SDK's fake host: a scripted platform behind the PlatformApi seam
// (platform_api.h). A test says how the platform answers each method and path, passes the fake's
// ClientFactory where the plugin connects its accounts, and reads back every request the plugin
// sent, with its idempotency key and the web-service user it went as.
//
//   FakePlatform platform;
//   platform.On("GET", "/api/v1/certification/progress", FakePlatform::Json(R"({"stage":…})"));
//   … host.Load(Api(), config) with a definition built on FakePlatform::CurrentFactory() …
//   EXPECT_EQ(platform.Count("POST", "/api/v1/careplan/sends"), 1);
//
// Answers follow PlatformApi's contract as PlatformClient keeps it: a non-2xx Response becomes
// its FromHttp status naming the endpoint; a status a handler returns (UNAVAILABLE for a dropped
// connection, say) reaches the plugin as it is; a request nothing was scripted for is
// UNIMPLEMENTED naming it. There are no retries, logins or circuit breaker: those are
// PlatformClient's, tested against the sandbox.
//
// Not in the SDK's test support (sdk/…/fake_host.h) because the SDK must not depend on
// platform_client, which is plugin code built on the SDK. Tests only. Thread-safe, except On,
// which belongs before the first request.
#ifndef KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_FAKE_PLATFORM_H_
#define KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_FAKE_PLATFORM_H_

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kaigo/sdk/plugin_definition.h"
#include "platform_api.h"

namespace kaigo::platform::testing {

// One request as the plugin sent it.
struct PlatformRequest {
  std::string method;  // "GET" or "POST"
  std::string path;    // as sent, query included
  std::string body;
  std::string content_type;
  std::string idempotency_key;                   // a POST's; empty for a GET
  std::string header;                            // an unauthenticated request's added header line
  bool authenticated = true;                     // false for the portal's pages (Unauthenticated*)
  std::string user_id;                           // the web-service user of the client that sent it
  absl::Time deadline = absl::InfiniteFuture();  // the request's bound from its call
};

class FakePlatform {
 public:
  using Handler = std::function<absl::StatusOr<Response>(const PlatformRequest&)>;

  FakePlatform();
  ~FakePlatform();
  FakePlatform(const FakePlatform&) = delete;
  FakePlatform& operator=(const FakePlatform&) = delete;

  // Answers `method` requests to `path` (without the query), or to every path that starts with
  // `path` when it ends with '*'. A later script for the same requests comes first.
  void On(std::string method, std::string path, Handler handler);

  // An answer of `body` (application/json) with `http_status`.
  static Handler Json(std::string body, long http_status = 200);
  // The answers in turn, the last one again for every request after.
  static Handler InTurn(std::vector<Handler> answers);

  std::vector<PlatformRequest> Requests() const;
  // The requests of `method` to `path` (without the query), in the order they came.
  std::vector<PlatformRequest> Requests(const std::string& method, const std::string& path) const;
  int Count(const std::string& method, const std::string& path) const {
    return static_cast<int>(Requests(method, path).size());
  }
  // The user ids of the clients made, in the order the plugin made them (default user first).
  std::vector<std::string> Users() const;

  // Clients that send to this fake (for PlatformAccounts::Connect); valid while it lives.
  ClientFactory Factory();
  // Clients that send to the FakePlatform alive when each is made (the last constructed): for a
  // plugin exported once per test binary, which so cannot hold one test's fake.
  static ClientFactory CurrentFactory();

  // The plugin `DefineWith` defines, exported once per test binary with CurrentFactory()'s
  // clients: what a plugin's unit tests call through FakeHost.
  template <sdk::PluginDefinition (*DefineWith)(ClientFactory)>
  static const kaigo_plugin_api* Exported() {
    static const kaigo_plugin_api* const api = sdk::ExportPlugin(DefineWith(CurrentFactory()));
    return api;
  }

 private:
  class Client;
  absl::StatusOr<Response> Answer(PlatformRequest request, const std::string& base_url);

  mutable std::mutex mu_;
  struct Script {
    std::string method;
    std::string path;
    Handler handler;
  };
  std::vector<Script> scripts_;
  std::vector<PlatformRequest> requests_;
  std::vector<std::string> users_;
  FakePlatform* previous_;  // the current fake before this one
};

}  // namespace kaigo::platform::testing

#endif  // KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_FAKE_PLATFORM_H_

// The platform's web API as the plugins call it: the seam between a plugin's logic and the HTTPS
// client (platform_client.h), so a plugin's unit tests can answer for the platform
// (testing/fake_platform.h) while production goes through PlatformClient unchanged.
//
// Contract of every implementation (PlatformClient's, which the fake follows): a 2xx answer is a
// Response; any other answer is its FromHttp status (platform_client.h), naming the endpoint;
// what ends a request early is DEADLINE_EXCEEDED or UNAVAILABLE. A POST carries its idempotency
// key on every attempt. Business errors (HTTP 200 with {"error": …}) are Responses. Implementations
// are thread-safe; calls block.
#ifndef KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_API_H_
#define KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_API_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "idempotency_key.h"

namespace kaigo::platform {

struct ClientOptions;

// What ends one request sooner than ClientOptions::max_call: the calling gRPC call's deadline and
// its caller going away. The default bounds nothing more (work outside any call).
struct RequestBounds {
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> cancelled;  // polled while a request runs; empty: never
};

struct Response {
  long http_status = 0;
  std::string content_type;
  std::string body;
  absl::Duration retry_after = absl::ZeroDuration();  // the Retry-After header's, when sent
};

class PlatformApi {
 public:
  virtual ~PlatformApi() = default;

  // An authenticated GET of `path_and_query` ("/api/v1/…?…"). Errors: UNAVAILABLE (retry later),
  // UNAUTHENTICATED (credentials refused or locked), PERMISSION_DENIED, NOT_FOUND,
  // FAILED_PRECONDITION (TLS: certificate refused), INTERNAL (a malformed request).
  virtual absl::StatusOr<Response> Get(const std::string& path_and_query,
                                       const RequestBounds& bounds = {}) = 0;
  // An authenticated POST under `key`, with the same errors. Retried like a GET on UNAVAILABLE
  // answers, each attempt with the same key, so the platform performs it once.
  virtual absl::StatusOr<Response> Post(const std::string& path, const std::string& body,
                                        const IdempotencyKey& key,
                                        const std::string& content_type = "application/json",
                                        const RequestBounds& bounds = {}) = 0;

  // Requests without the web API's login, for the portal's registration and login pages (which
  // come before any user exists), with `header` ("Name: value") added when not empty. Retried
  // like the others on UNAVAILABLE answers; a POST under `key`, as Post.
  virtual absl::StatusOr<Response> UnauthenticatedGet(const std::string& path,
                                                      const std::string& header = "",
                                                      const RequestBounds& bounds = {}) = 0;
  virtual absl::StatusOr<Response> UnauthenticatedPost(const std::string& path,
                                                       const std::string& body,
                                                       const IdempotencyKey& key,
                                                       const std::string& header = "",
                                                       const RequestBounds& bounds = {}) = 0;
};

// Makes the client of one web-service user from its options (PlatformAccounts::Connect calls it
// once per account). Empty: PlatformClient::Create, the real platform.
using ClientFactory =
    std::function<absl::StatusOr<std::unique_ptr<PlatformApi>>(const ClientOptions& options)>;

}  // namespace kaigo::platform

#endif  // KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_API_H_

// An HTTPS client for the platform's web API, shared by the plugins that call it.
//
// - libcurl with the office's PKCS#12 client certificate (bytes, e.g. from a host secret), TLS 1.3
//   only, the platform's CA, connections kept and reused (a pool of handles, one per concurrent
//   call);
// - login (user ID + password over the certificate's TLS session) on first use; an expired access
//   token is refreshed, and a refused refresh becomes a new login, without the caller noticing;
// - UNAVAILABLE answers (5xx, refused or dropped connections, timeouts) are retried with
//   exponential backoff; after `breaker_threshold` consecutive ones the circuit opens and calls
//   fail fast with UNAVAILABLE until `breaker_cooldown` has passed, when one trial call goes
//   through.
//
// Every request is bounded: by `max_call` (login, retries and backoff included), by the calling
// gRPC call's deadline and its caller cancelling (RequestBounds; see CallClient in
// platform_connection.h), each attempt by `timeout` and a low-speed limit (an answer slower than
// 1 KiB/s for 10 s ends), and its answer by `max_answer_bytes`. What ends a request early
// reaches the caller as DEADLINE_EXCEEDED (no answer in time) or UNAVAILABLE (too slow, too
// large, unreachable), naming the endpoint (its path, never its query), never as INTERNAL.
//
// Every mutating request carries an idempotency key (idempotency_key.h), sent as the
// `Idempotency-Key` header and repeated unchanged by every retry of that request, here or by the
// caller: Post and UnauthenticatedPost take one, so none can be sent without. Login and token
// refresh are the only POSTs without one: they make no record on the platform, and a replayed
// answer would be a token kept at rest by the platform.
//
// Business errors (HTTP 200 with {"error": …}) are successful responses here: callers read them.
// Thread-safe; calls block (call them from worker threads, never from an RPC thread).
#ifndef KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_CLIENT_H_
#define KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_CLIENT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "idempotency_key.h"
#include "platform_api.h"

namespace kaigo::platform {

struct ClientOptions {
  std::string base_url;    // "https://host:port"
  std::string ca_pem;      // the CA that signs the platform's server certificate
  std::string client_p12;  // the office's certificate and key, PKCS#12 bytes
  std::string client_p12_password;
  std::string user_id;
  std::string password;
  int max_attempts = 3;  // per call, for UNAVAILABLE answers
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration timeout = absl::Seconds(10);   // per attempt
  absl::Duration max_call = absl::Seconds(30);  // per call: login, retries and backoff included
  // A received care-plan file (≤ 20 MiB, raw) is the largest legitimate answer.
  int64_t max_answer_bytes = int64_t{32} << 20;
  int breaker_threshold = 5;
  absl::Duration breaker_cooldown = absl::Seconds(10);
  // The clock at which the platform's certificate is checked (the host's); empty: the system's.
  std::function<absl::Time()> now;
  // "http://host:port" of an HTTP proxy (CONNECT), or "" for none (the environment's is ignored);
  // its "user:password", or "".
  std::string proxy;
  std::string proxy_credentials;
};

// OK for a 2xx answer; else its status, naming `endpoint`, with the platform's error as details
// (ErrorInfo: reason its code or HTTP_<status>, domain platform.kaigo-kiban, metadata
// http_status and the error's other members). 400 is INVALID_ARGUMENT when the platform names the
// field it refused (the caller's input, passed on) and INTERNAL when it does not (our request was
// malformed); 401 UNAUTHENTICATED; 403 PERMISSION_DENIED; 404 NOT_FOUND; 422 FAILED_PRECONDITION
// (an idempotency key reused for another request); 409, 429, 5xx and the rest UNAVAILABLE, with a
// RetryInfo when the answer said Retry-After.
absl::Status FromHttp(const Response& r, const std::string& endpoint);

// Counters for tests and metrics.
struct ClientStats {
  int64_t logins = 0;
  int64_t refreshes = 0;
  int64_t retries = 0;
  int64_t fast_failures = 0;  // refused by the open circuit
};

// The real platform (PlatformApi, whose methods document the errors).
class PlatformClient final : public PlatformApi {
 public:
  static absl::StatusOr<std::unique_ptr<PlatformClient>> Create(ClientOptions options);
  ~PlatformClient() override;
  PlatformClient(const PlatformClient&) = delete;
  PlatformClient& operator=(const PlatformClient&) = delete;

  absl::StatusOr<Response> Get(const std::string& path_and_query,
                               const RequestBounds& bounds = {}) override;
  absl::StatusOr<Response> Post(const std::string& path, const std::string& body,
                                const IdempotencyKey& key,
                                const std::string& content_type = "application/json",
                                const RequestBounds& bounds = {}) override;
  absl::StatusOr<Response> UnauthenticatedGet(const std::string& path,
                                              const std::string& header = "",
                                              const RequestBounds& bounds = {}) override;
  absl::StatusOr<Response> UnauthenticatedPost(const std::string& path, const std::string& body,
                                               const IdempotencyKey& key,
                                               const std::string& header = "",
                                               const RequestBounds& bounds = {}) override;

  ClientStats stats() const;

 private:
  struct Handle;
  // One call's bounds: when it must have ended, and why then; whether its caller has gone.
  struct Budget {
    absl::Time end;
    const char* end_reason;  // "the call's deadline" or "platform.max_call_ms"
    const RequestBounds* bounds;
  };
  explicit PlatformClient(ClientOptions options);
  Budget BudgetFor(const RequestBounds& bounds) const;

  // With the access token, renewed once if the platform refuses it.
  absl::StatusOr<Response> Authorized(const std::string& method, const std::string& path,
                                      const std::string& body, const std::string& content_type,
                                      const IdempotencyKey* key, const Budget& budget);
  // One HTTP exchange with retries and the breaker; `bearer` empty for login/refresh. `key`
  // (null for GET, login and refresh) goes with every attempt.
  absl::StatusOr<Response> Exchange(const std::string& method, const std::string& path,
                                    const std::string& body, const std::string& bearer,
                                    const Budget& budget,
                                    const std::string& content_type = "application/json",
                                    const std::string& extra_header = "",
                                    const IdempotencyKey* key = nullptr);
  absl::StatusOr<Response> Attempt(const std::string& method, const std::string& path,
                                   const std::string& body, const std::string& bearer,
                                   const std::string& content_type, const std::string& extra_header,
                                   const IdempotencyKey* key, const Budget& budget);
  // A valid access token: the current one, or after a refresh or a login.
  absl::StatusOr<std::string> AccessToken(bool renew, const std::string& rejected,
                                          const Budget& budget);
  absl::Status Login(const Budget& budget);
  // DEADLINE_EXCEEDED naming the endpoint and what bounded the call.
  absl::Status OutOfTime(const std::string& path, const Budget& budget) const;
  std::unique_ptr<Handle> TakeHandle();
  void ReturnHandle(std::unique_ptr<Handle> handle);
  std::string Endpoint(const std::string& path) const;  // base URL and path, without the query
  absl::Status BreakerAllows();
  enum class Outcome { kAnswered, kUnavailable, kUnknown };
  void BreakerRecord(Outcome outcome);

  const ClientOptions options_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Handle>> pool_;

  std::timed_mutex auth_mu_;  // one login or refresh at a time; waited on within the budget
  std::string access_token_;
  std::string refresh_token_;

  mutable std::mutex breaker_mu_;
  int consecutive_failures_ = 0;
  absl::Time open_until_ = absl::InfinitePast();
  bool trial_running_ = false;

  mutable std::mutex stats_mu_;
  ClientStats stats_;
};

// The status for the platform's MUNICIPALITY_NOT_LIVE business error: FAILED_PRECONDITION naming
// `field`, with the platform's message, or the go-live date (empty: not scheduled) when it has
// none.
absl::Status MunicipalityNotLive(const std::string& field, const std::string& message,
                                 const std::string& live_from);

}  // namespace kaigo::platform

#endif  // KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_CLIENT_H_

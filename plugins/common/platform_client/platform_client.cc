#include "platform_client.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kaigo/sdk/error_details.h"
#include "nlohmann/json.hpp"
#include "platform_json.h"

namespace kaigo::platform {

using nlohmann::json;

struct PlatformClient::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

namespace {

// An answer more slowly than this, for this long, ends the attempt (a slow drip).
constexpr long kLowSpeedBytesPerSecond = 1024;
constexpr long kLowSpeedSeconds = 10;

// Where an answer's bytes go: up to `cap`, then the transfer is ended (`over` says why).
struct AnswerSink {
  std::string* body;
  int64_t cap;
  bool over = false;
};

size_t Append(char* data, size_t size, size_t count, void* out) {
  auto* sink = static_cast<AnswerSink*>(out);
  if (static_cast<int64_t>(sink->body->size() + size * count) > sink->cap) {
    sink->over = true;
    return 0;  // ends the transfer with CURLE_WRITE_ERROR
  }
  sink->body->append(data, size * count);
  return size * count;
}

// Ends the transfer (CURLE_ABORTED_BY_CALLBACK) once the calling gRPC call's caller has gone.
int AbortWhenCancelled(void* bounds, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto& cancelled = static_cast<const RequestBounds*>(bounds)->cancelled;
  return cancelled && cancelled() ? 1 : 0;
}

// Certificates are checked at the host's clock, as the platform checks ours: under a test clock
// both sides agree on which certificates are valid.
CURLcode VerifyAtClock(CURL*, void* ssl_ctx, void* options) {
  const auto& now = static_cast<const ClientOptions*>(options)->now;
  X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(static_cast<SSL_CTX*>(ssl_ctx)),
                             static_cast<time_t>(absl::ToUnixSeconds(now())));
  return CURLE_OK;
}

bool TlsProblem(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

// The platform's error text, from {"error": {"message": …}} when there is one.
std::string ErrorMessage(const Response& r) {
  std::string message = ErrorMessageOf(r.body);
  return message.empty() ? absl::StrCat("HTTP ", r.http_status) : message;
}

// Retry-After: delay-seconds or an HTTP-date; zero when absent or unreadable.
absl::Duration RetryAfter(CURL* c, absl::Time now) {
  curl_header* header = nullptr;
  if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &header) != CURLHE_OK) {
    return absl::ZeroDuration();
  }
  int64_t seconds = 0;
  if (absl::SimpleAtoi(header->value, &seconds)) {
    return absl::Seconds(std::max<int64_t>(seconds, 0));
  }
  absl::Time at;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", header->value, absl::UTCTimeZone(), &at,
                      nullptr)) {
    return std::max(at - now, absl::ZeroDuration());
  }
  return absl::ZeroDuration();
}

}  // namespace

absl::Status FromHttp(const Response& r, const std::string& endpoint) {
  if (r.http_status >= 200 && r.http_status < 300) return absl::OkStatus();
  const json error = ErrorObjectOf(r.body);
  std::string message = "platform " + endpoint + ": " + ErrorMessage(r);
  absl::Status status;
  switch (r.http_status) {
    case 400:
      status = JsonString(error, "field").empty() ? absl::InternalError(message)
                                                  : absl::InvalidArgumentError(message);
      break;
    case 401:
      status = absl::UnauthenticatedError(message);
      break;
    case 403:
      status = absl::PermissionDeniedError(message);
      break;
    case 404:
      status = absl::NotFoundError(message);
      break;
    case 422:  // an idempotency key already used for another request: a retry cannot help
      status = absl::FailedPreconditionError(message);
      break;
    default:  // 409 too: the same key's first request is still being performed; retried
      status = absl::UnavailableError(message);
  }
  status =
      WithPlatformError(std::move(status), error, "platform", absl::StrCat("HTTP_", r.http_status),
                        {{"http_status", std::to_string(r.http_status)}});
  if (r.retry_after > absl::ZeroDuration()) {
    status = sdk::WithRetryDelay(std::move(status), r.retry_after);
  }
  return status;
}

absl::Status MunicipalityNotLive(const std::string& field, const std::string& message,
                                 const std::string& live_from) {
  std::string when =
      live_from.empty() ? "it has not scheduled its move" : "it goes live on " + live_from;
  return absl::FailedPreconditionError(field + ": the municipality is not yet on the platform; " +
                                       when + (message.empty() ? "" : " (" + message + ")"));
}

absl::StatusOr<std::unique_ptr<PlatformClient>> PlatformClient::Create(ClientOptions options) {
  static std::once_flag global;
  std::call_once(global, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (options.base_url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError("base_url: must be an https:// URL");
  }
  if (options.client_p12.empty()) {
    return absl::InvalidArgumentError("client_p12: the office certificate is required");
  }
  if (options.max_attempts < 1) options.max_attempts = 1;
  if (options.max_call <= absl::ZeroDuration()) options.max_call = ClientOptions().max_call;
  if (options.max_answer_bytes <= 0) options.max_answer_bytes = ClientOptions().max_answer_bytes;
  return std::unique_ptr<PlatformClient>(new PlatformClient(std::move(options)));
}

PlatformClient::PlatformClient(ClientOptions options) : options_(std::move(options)) {}

PlatformClient::~PlatformClient() = default;

ClientStats PlatformClient::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

PlatformClient::Budget PlatformClient::BudgetFor(const RequestBounds& bounds) const {
  absl::Time most = absl::Now() + options_.max_call;
  if (bounds.deadline < most) return Budget{bounds.deadline, "the call's deadline", &bounds};
  return Budget{most, "the per-call maximum (platform.max_call_ms)", &bounds};
}

std::string PlatformClient::Endpoint(const std::string& path) const {
  return options_.base_url + path.substr(0, path.find('?'));  // a query may hold personal data
}

absl::Status PlatformClient::OutOfTime(const std::string& path, const Budget& budget) const {
  return absl::DeadlineExceededError(
      absl::StrCat("platform ", Endpoint(path), ": no complete answer within ", budget.end_reason));
}

std::unique_ptr<PlatformClient::Handle> PlatformClient::TakeHandle() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      auto handle = std::move(pool_.back());
      pool_.pop_back();
      return handle;
    }
  }
  auto handle = std::make_unique<Handle>();
  handle->curl = curl_easy_init();
  return handle;
}

void PlatformClient::ReturnHandle(std::unique_ptr<Handle> handle) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  pool_.push_back(std::move(handle));  // keeps its connection for the next call
}

absl::Status PlatformClient::BreakerAllows() {
  std::lock_guard<std::mutex> lock(breaker_mu_);
  if (consecutive_failures_ < options_.breaker_threshold) return absl::OkStatus();
  absl::Time now = absl::Now();
  if (now >= open_until_ && !trial_running_) {
    trial_running_ = true;  // half-open: one call tries the platform
    return absl::OkStatus();
  }
  std::lock_guard<std::mutex> stats_lock(stats_mu_);
  ++stats_.fast_failures;
  return absl::UnavailableError(
      absl::StrCat("the platform has been unavailable ", consecutive_failures_,
                   " times in a row; calls pause until ",
                   absl::FormatTime("%H:%M:%S", open_until_, absl::LocalTimeZone())));
}

void PlatformClient::BreakerRecord(Outcome outcome) {
  std::lock_guard<std::mutex> lock(breaker_mu_);
  trial_running_ = false;
  if (outcome == Outcome::kUnknown) return;  // the caller went away: no verdict on the platform
  if (outcome == Outcome::kAnswered) {
    consecutive_failures_ = 0;
    return;
  }
  if (++consecutive_failures_ >= options_.breaker_threshold) {
    open_until_ = absl::Now() + options_.breaker_cooldown;
  }
}

absl::StatusOr<Response> PlatformClient::Attempt(const std::string& method, const std::string& path,
                                                 const std::string& body, const std::string& bearer,
                                                 const std::string& content_type,
                                                 const std::string& extra_header,
                                                 const IdempotencyKey* key, const Budget& budget) {
  absl::Duration left = budget.end - absl::Now();
  if (left <= absl::ZeroDuration()) return OutOfTime(path, budget);
  bool cut_by_budget = left < options_.timeout;
  long timeout_ms = std::max<long>(
      1, static_cast<long>(absl::ToInt64Milliseconds(std::min(left, options_.timeout))));
  auto handle = TakeHandle();
  CURL* c = handle->curl;
  curl_easy_reset(c);  // options go; the connection cache stays
  std::string url = options_.base_url + path;
  Response response;
  curl_slist* headers = nullptr;
  std::string authorization = "Authorization: Bearer " + bearer;
  if (!bearer.empty()) headers = curl_slist_append(headers, authorization.c_str());
  std::string type_header = "Content-Type: " + content_type;
  if (method == "POST") headers = curl_slist_append(headers, type_header.c_str());
  if (!extra_header.empty()) headers = curl_slist_append(headers, extra_header.c_str());
  std::string key_header = key != nullptr ? key->Header() : "";
  if (key != nullptr) headers = curl_slist_append(headers, key_header.c_str());
  curl_blob cert{const_cast<char*>(options_.client_p12.data()), options_.client_p12.size(),
                 CURL_BLOB_NOCOPY};
  curl_blob ca{const_cast<char*>(options_.ca_pem.data()), options_.ca_pem.size(), CURL_BLOB_NOCOPY};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_3);
  curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "P12");
  curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
  curl_easy_setopt(c, CURLOPT_KEYPASSWD, options_.client_p12_password.c_str());
  if (!options_.ca_pem.empty()) curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerSecond);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, kLowSpeedSeconds);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options_.max_answer_bytes));
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &AbortWhenCancelled);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, budget.bounds);
  char detail[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  // Set even when empty: "" turns off the proxies libcurl would take from the environment.
  curl_easy_setopt(c, CURLOPT_PROXY, options_.proxy.c_str());
  if (!options_.proxy_credentials.empty()) {
    curl_easy_setopt(c, CURLOPT_PROXYUSERPWD, options_.proxy_credentials.c_str());
  }
  if (options_.now) {
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, &VerifyAtClock);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &options_);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  AnswerSink sink{&response.body, options_.max_answer_bytes};
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  CURLcode code = curl_easy_perform(c);
  curl_slist_free_all(headers);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);  // `detail` ends here; the handle lives on
  if (code != CURLE_OK) {
    std::string what = detail[0] != '\0' ? detail : curl_easy_strerror(code);
    std::string endpoint = Endpoint(path);
    if (TlsProblem(code)) {
      // TLS and certificate problems do not heal by retrying.
      return absl::FailedPreconditionError("platform " + endpoint + ": TLS: " + what);
    }
    ReturnHandle(std::move(handle));
    if (code == CURLE_ABORTED_BY_CALLBACK) {
      return absl::CancelledError("platform " + endpoint + ": the caller cancelled");
    }
    if (sink.over || code == CURLE_FILESIZE_EXCEEDED) {
      return absl::UnavailableError(
          absl::StrCat("platform ", endpoint, ": platform answer larger than ",
                       options_.max_answer_bytes, " bytes (platform.max_answer_bytes)"));
    }
    if (code == CURLE_OPERATION_TIMEDOUT && cut_by_budget) return OutOfTime(path, budget);
    return absl::UnavailableError("platform " + endpoint + " unreachable: " + what);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.http_status);
  char* type = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) response.content_type = type;
  response.retry_after = RetryAfter(c, options_.now ? options_.now() : absl::Now());
  ReturnHandle(std::move(handle));
  return response;
}

absl::StatusOr<Response> PlatformClient::Exchange(const std::string& method,
                                                  const std::string& path, const std::string& body,
                                                  const std::string& bearer, const Budget& budget,
                                                  const std::string& content_type,
                                                  const std::string& extra_header,
                                                  const IdempotencyKey* key) {
  absl::Duration backoff = options_.initial_backoff;
  absl::Status last;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (absl::Status allowed = BreakerAllows(); !allowed.ok()) return allowed;
    absl::StatusOr<Response> response =
        Attempt(method, path, body, bearer, content_type, extra_header, key, budget);
    absl::Status status = response.ok() ? FromHttp(*response, Endpoint(path)) : response.status();
    // A platform that does not answer in time is as unavailable as one that refuses.
    bool unavailable = status.code() == absl::StatusCode::kUnavailable ||
                       status.code() == absl::StatusCode::kDeadlineExceeded;
    BreakerRecord(status.code() == absl::StatusCode::kCancelled ? Outcome::kUnknown
                  : unavailable                                 ? Outcome::kUnavailable
                                                                : Outcome::kAnswered);
    if (status.code() != absl::StatusCode::kUnavailable) {
      return status.ok() ? response : absl::StatusOr<Response>(status);
    }
    last = status;
    if (attempt < options_.max_attempts) {
      if (response.ok()) backoff = std::max(backoff, response->retry_after);
      if (absl::Now() + backoff >= budget.end) break;  // no time left for another attempt
      {
        std::lock_guard<std::mutex> lock(stats_mu_);
        ++stats_.retries;
      }
      absl::SleepFor(backoff);
      backoff *= 2;
    }
  }
  return last;
}

absl::Status PlatformClient::Login(const Budget& budget) {
  json request = {{"user_id", options_.user_id}, {"password", options_.password}};
  auto response = Exchange("POST", "/api/v1/login", request.dump(), "", budget);
  if (!response.ok()) return response.status();
  auto tokens = ParseTokens(response->body);
  if (!tokens.ok()) return tokens.status();
  access_token_ = tokens->access;
  refresh_token_ = tokens->refresh;
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++stats_.logins;
  return absl::OkStatus();
}

absl::StatusOr<std::string> PlatformClient::AccessToken(bool renew, const std::string& rejected,
                                                        const Budget& budget) {
  // Another call's login or refresh may hold the lock; it is waited on only within this budget.
  std::unique_lock<std::timed_mutex> lock(auth_mu_, std::defer_lock);
  if (!lock.try_lock_until(absl::ToChronoTime(budget.end))) {
    return OutOfTime("/api/v1/login", budget);
  }
  if (!access_token_.empty() && (!renew || access_token_ != rejected)) {
    return access_token_;  // another call already renewed it
  }
  if (renew && !refresh_token_.empty()) {
    json request = {{"refresh_token", refresh_token_}};
    auto response = Exchange("POST", "/api/v1/token/refresh", request.dump(), "", budget);
    auto tokens =
        response.ok() ? ParseTokens(response->body) : absl::StatusOr<Tokens>(response.status());
    if (tokens.ok()) {
      access_token_ = tokens->access;
      refresh_token_ = tokens->refresh;
      std::lock_guard<std::mutex> stats_lock(stats_mu_);
      ++stats_.refreshes;
      return access_token_;
    }
    if (!response.ok() && response.status().code() != absl::StatusCode::kUnauthenticated) {
      return response.status();
    }
    // The refresh token expired (8 h) or was refused: log in again.
  }
  if (absl::Status s = Login(budget); !s.ok()) return s;
  return access_token_;
}

absl::StatusOr<Response> PlatformClient::Get(const std::string& path_and_query,
                                             const RequestBounds& bounds) {
  return Authorized("GET", path_and_query, "", "", nullptr, BudgetFor(bounds));
}

absl::StatusOr<Response> PlatformClient::Post(const std::string& path, const std::string& body,
                                              const IdempotencyKey& key,
                                              const std::string& content_type,
                                              const RequestBounds& bounds) {
  return Authorized("POST", path, body, content_type, &key, BudgetFor(bounds));
}

absl::StatusOr<Response> PlatformClient::UnauthenticatedGet(const std::string& path,
                                                            const std::string& header,
                                                            const RequestBounds& bounds) {
  return Exchange("GET", path, "", "", BudgetFor(bounds), "application/json", header);
}

absl::StatusOr<Response> PlatformClient::UnauthenticatedPost(const std::string& path,
                                                             const std::string& body,
                                                             const IdempotencyKey& key,
                                                             const std::string& header,
                                                             const RequestBounds& bounds) {
  return Exchange("POST", path, body, "", BudgetFor(bounds), "application/json", header, &key);
}

absl::StatusOr<Response> PlatformClient::Authorized(
    const std::string& method, const std::string& path, const std::string& body,
    const std::string& content_type, const IdempotencyKey* key, const Budget& budget) {
  auto token = AccessToken(false, "", budget);
  if (!token.ok()) return token.status();
  auto response = Exchange(method, path, body, *token, budget, content_type, "", key);
  if (response.ok() || response.status().code() != absl::StatusCode::kUnauthenticated) {
    return response;
  }
  // The access token was refused (expired after 60 min): renew once and repeat.
  token = AccessToken(true, *token, budget);
  if (!token.ok()) return token.status();
  return Exchange(method, path, body, *token, budget, content_type, "", key);
}

}  // namespace kaigo::platform

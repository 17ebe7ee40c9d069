#include "platform_client.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// Certificates are checked at the host's clock, as the platform checks ours: under a test clock
// both sides agree on which certificates are valid.
CURLcode VerifyAtClock(CURL*, void* ssl_ctx, void* options) {
  const auto& now = static_cast<const ClientOptions*>(options)->now;
  X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(static_cast<SSL_CTX*>(ssl_ctx)),
                             static_cast<time_t>(absl::ToUnixSeconds(now())));
  return CURLE_OK;
}

bool Transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
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

absl::Status FromHttp(const Response& r) {
  if (r.http_status >= 200 && r.http_status < 300) return absl::OkStatus();
  std::string message = "platform: " + ErrorMessage(r);
  switch (r.http_status) {
    case 400:
      return absl::InternalError(message);  // our request was malformed
    case 401:
      return absl::UnauthenticatedError(message);
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    default:
      return absl::UnavailableError(message);
  }
}

}  // namespace

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
  return std::unique_ptr<PlatformClient>(new PlatformClient(std::move(options)));
}

PlatformClient::PlatformClient(ClientOptions options) : options_(std::move(options)) {}

PlatformClient::~PlatformClient() = default;

ClientStats PlatformClient::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
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

void PlatformClient::BreakerRecord(bool unavailable) {
  std::lock_guard<std::mutex> lock(breaker_mu_);
  trial_running_ = false;
  if (!unavailable) {
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
                                                 const std::string& extra_header) {
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
  curl_blob cert{const_cast<char*>(options_.client_p12.data()), options_.client_p12.size(),
                 CURL_BLOB_NOCOPY};
  curl_blob ca{const_cast<char*>(options_.ca_pem.data()), options_.ca_pem.size(), CURL_BLOB_NOCOPY};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_3);
  curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "P12");
  curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
  curl_easy_setopt(c, CURLOPT_KEYPASSWD, options_.client_p12_password.c_str());
  if (!options_.ca_pem.empty()) curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (options_.now) {
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, &VerifyAtClock);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &options_);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  CURLcode code = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    std::string what = curl_easy_strerror(code);
    if (Transient(code)) {
      ReturnHandle(std::move(handle));
      return absl::UnavailableError("platform unreachable: " + what);
    }
    // TLS and certificate problems do not heal by retrying.
    return absl::FailedPreconditionError("platform TLS: " + what);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.http_status);
  char* type = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) response.content_type = type;
  ReturnHandle(std::move(handle));
  return response;
}

absl::StatusOr<Response> PlatformClient::Exchange(const std::string& method,
                                                  const std::string& path, const std::string& body,
                                                  const std::string& bearer,
                                                  const std::string& content_type,
                                                  const std::string& extra_header) {
  absl::Duration backoff = options_.initial_backoff;
  absl::Status last;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (absl::Status allowed = BreakerAllows(); !allowed.ok()) return allowed;
    absl::StatusOr<Response> response =
        Attempt(method, path, body, bearer, content_type, extra_header);
    absl::Status status = response.ok() ? FromHttp(*response) : response.status();
    bool unavailable = status.code() == absl::StatusCode::kUnavailable;
    BreakerRecord(unavailable);
    if (!unavailable) return status.ok() ? response : absl::StatusOr<Response>(status);
    last = status;
    if (attempt < options_.max_attempts) {
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

absl::Status PlatformClient::Login() {
  json request = {{"user_id", options_.user_id}, {"password", options_.password}};
  auto response = Exchange("POST", "/api/v1/login", request.dump(), "");
  if (!response.ok()) return response.status();
  auto tokens = ParseTokens(response->body);
  if (!tokens.ok()) return tokens.status();
  access_token_ = tokens->access;
  refresh_token_ = tokens->refresh;
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++stats_.logins;
  return absl::OkStatus();
}

absl::StatusOr<std::string> PlatformClient::AccessToken(bool renew, const std::string& rejected) {
  std::lock_guard<std::mutex> lock(auth_mu_);
  if (!access_token_.empty() && (!renew || access_token_ != rejected)) {
    return access_token_;  // another call already renewed it
  }
  if (renew && !refresh_token_.empty()) {
    json request = {{"refresh_token", refresh_token_}};
    auto response = Exchange("POST", "/api/v1/token/refresh", request.dump(), "");
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
  if (absl::Status s = Login(); !s.ok()) return s;
  return access_token_;
}

absl::StatusOr<Response> PlatformClient::Get(const std::string& path_and_query) {
  return Authorized("GET", path_and_query, "", "");
}

absl::StatusOr<Response> PlatformClient::Post(const std::string& path, const std::string& body,
                                              const std::string& content_type) {
  return Authorized("POST", path, body, content_type);
}

absl::StatusOr<Response> PlatformClient::Unauthenticated(const std::string& method,
                                                         const std::string& path,
                                                         const std::string& body,
                                                         const std::string& header) {
  return Exchange(method, path, body, "", "application/json", header);
}

absl::StatusOr<Response> PlatformClient::Authorized(const std::string& method,
                                                    const std::string& path,
                                                    const std::string& body,
                                                    const std::string& content_type) {
  auto token = AccessToken(false, "");
  if (!token.ok()) return token.status();
  auto response = Exchange(method, path, body, *token, content_type);
  if (response.ok() || response.status().code() != absl::StatusCode::kUnauthenticated) {
    return response;
  }
  // The access token was refused (expired after 60 min): renew once and repeat.
  token = AccessToken(true, *token);
  if (!token.ok()) return token.status();
  return Exchange(method, path, body, *token, content_type);
}

}  // namespace kaigo::platform

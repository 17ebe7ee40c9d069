#include "imap_client.h"

#include <curl/curl.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace kaigo::plugins::otp_mailbox {

namespace {

constexpr absl::Duration kRequestTimeout = absl::Seconds(10);

// Where an answer's bytes go: up to `cap`, then the transfer is ended (`over` says why).
struct AnswerSink {
  std::string body;
  int64_t cap;
  bool over = false;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  auto* sink = static_cast<AnswerSink*>(out);
  if (static_cast<int64_t>(sink->body.size() + size * n) > sink->cap) {
    sink->over = true;
    return 0;  // ends the transfer with CURLE_WRITE_ERROR
  }
  sink->body.append(data, size * n);
  return size * n;
}

}  // namespace

std::vector<uint32_t> ParseSearch(const std::string& response) {
  std::vector<uint32_t> uids;
  for (absl::string_view line : absl::StrSplit(response, '\n')) {
    if (!absl::StartsWith(line, "* SEARCH")) continue;
    for (absl::string_view word : absl::StrSplit(line.substr(8), ' ', absl::SkipWhitespace())) {
      uint32_t uid = 0;
      if (absl::SimpleAtoi(word, &uid)) uids.push_back(uid);
    }
  }
  return uids;
}

absl::StatusOr<std::string> ImapClient::Request(const std::string& url, const std::string& command,
                                                absl::Time deadline) const {
  if (url.rfind("imaps://", 0) != 0) {
    return absl::InvalidArgumentError("mailbox_url: must start with imaps://");
  }
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError("mailbox: no time left for the mail server");
  }
  bool cut_by_deadline = left < kRequestTimeout;
  long timeout_ms = std::max<long>(
      1, static_cast<long>(absl::ToInt64Milliseconds(std::min(left, kRequestTimeout))));
  CURL* c = curl_easy_init();
  if (c == nullptr) return absl::UnavailableError("mailbox: libcurl has no handle");
  AnswerSink sink{"", options_.max_answer_bytes};
  curl_blob ca{const_cast<char*>(options_.ca_pem.data()), options_.ca_pem.size(), CURL_BLOB_NOCOPY};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_USERNAME, options_.username.c_str());
  curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
  if (!options_.ca_pem.empty()) curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  // Set even when empty: "" turns off the proxies libcurl would take from the environment. IMAP
  // through an HTTP proxy needs the tunnel asked for.
  curl_easy_setopt(c, CURLOPT_PROXY, options_.proxy.c_str());
  if (!options_.proxy.empty()) curl_easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L);
  if (!options_.proxy_credentials.empty()) {
    curl_easy_setopt(c, CURLOPT_PROXYUSERPWD, options_.proxy_credentials.c_str());
  }
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  if (!command.empty()) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, command.c_str());
  CURLcode code = curl_easy_perform(c);
  curl_easy_cleanup(c);
  if (code == CURLE_LOGIN_DENIED) {
    return absl::UnauthenticatedError("mailbox: the mail server refused the login");
  }
  if (sink.over) {
    return absl::ResourceExhaustedError(
        absl::StrCat("mailbox: the mail server's answer is larger than ", options_.max_answer_bytes,
                     " bytes (max_answer_bytes)"));
  }
  if (code == CURLE_OPERATION_TIMEDOUT && cut_by_deadline) {
    return absl::DeadlineExceededError("mailbox: the mail server did not answer in time");
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("mailbox: ", curl_easy_strerror(code)));
  }
  return std::move(sink.body);
}

absl::StatusOr<std::vector<uint32_t>> ImapClient::UidsSince(absl::CivilDay day,
                                                            absl::Time deadline) const {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto response = Request(
      options_.mailbox_url,
      absl::StrCat("UID SEARCH SINCE ", day.day(), "-", kMonths[day.month() - 1], "-", day.year()),
      deadline);
  if (!response.ok()) return response.status();
  return ParseSearch(*response);
}

absl::StatusOr<std::string> ImapClient::Headers(uint32_t uid, absl::Time deadline) const {
  return Request(absl::StrCat(options_.mailbox_url, "/;UID=", uid,
                              ";SECTION=HEADER.FIELDS%20(SUBJECT%20DATE)"),
                 "", deadline);
}

absl::StatusOr<std::string> ImapClient::Message(uint32_t uid, absl::Time deadline) const {
  return Request(absl::StrCat(options_.mailbox_url, "/;UID=", uid), "", deadline);
}

}  // namespace kaigo::plugins::otp_mailbox

#include "imap_client.h"

#include <curl/curl.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace kaigo::plugins::otp_mailbox {

namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
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

absl::StatusOr<std::string> ImapClient::Request(const std::string& url,
                                                const std::string& command) const {
  if (url.rfind("imaps://", 0) != 0) {
    return absl::InvalidArgumentError("mailbox_url: must start with imaps://");
  }
  CURL* c = curl_easy_init();
  if (c == nullptr) return absl::InternalError("libcurl: no handle");
  std::string body;
  curl_blob ca{const_cast<char*>(options_.ca_pem.data()), options_.ca_pem.size(), CURL_BLOB_NOCOPY};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_USERNAME, options_.username.c_str());
  curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
  if (!options_.ca_pem.empty()) curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  if (!command.empty()) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, command.c_str());
  CURLcode code = curl_easy_perform(c);
  curl_easy_cleanup(c);
  if (code == CURLE_LOGIN_DENIED) {
    return absl::UnauthenticatedError("mailbox: the mail server refused the login");
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("mailbox: ", curl_easy_strerror(code)));
  }
  return body;
}

absl::StatusOr<std::vector<uint32_t>> ImapClient::UidsSince(absl::CivilDay day) const {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto response = Request(
      options_.mailbox_url,
      absl::StrCat("UID SEARCH SINCE ", day.day(), "-", kMonths[day.month() - 1], "-", day.year()));
  if (!response.ok()) return response.status();
  return ParseSearch(*response);
}

absl::StatusOr<std::string> ImapClient::Headers(uint32_t uid) const {
  return Request(absl::StrCat(options_.mailbox_url, "/;UID=", uid,
                              ";SECTION=HEADER.FIELDS%20(SUBJECT%20DATE)"),
                 "");
}

absl::StatusOr<std::string> ImapClient::Message(uint32_t uid) const {
  return Request(absl::StrCat(options_.mailbox_url, "/;UID=", uid), "");
}

}  // namespace kaigo::plugins::otp_mailbox

// The few IMAP requests the mailbox plugin needs, over libcurl (imaps only, TLS verified against
// the given CA): UIDs of mail since a day, one mail's Subject and Date, one whole mail.
// Errors: UNAUTHENTICATED (login refused), UNAVAILABLE (the server cannot be reached).
// Thread-safe: each call uses its own handle. Calls block.
#ifndef KAIGO_PLUGINS_OTP_MAILBOX_IMAP_CLIENT_H_
#define KAIGO_PLUGINS_OTP_MAILBOX_IMAP_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace kaigo::plugins::otp_mailbox {

struct ImapOptions {
  std::string mailbox_url;  // imaps://host:port/INBOX
  std::string username;
  std::string password;
  std::string ca_pem;
};

class ImapClient {
 public:
  explicit ImapClient(ImapOptions options) : options_(std::move(options)) {}

  // UIDs of the mail received on or after `day` (IMAP SINCE has day granularity), ascending.
  absl::StatusOr<std::vector<uint32_t>> UidsSince(absl::CivilDay day) const;
  // The header lines "Subject" and "Date" of one mail, as raw text.
  absl::StatusOr<std::string> Headers(uint32_t uid) const;
  absl::StatusOr<std::string> Message(uint32_t uid) const;

 private:
  absl::StatusOr<std::string> Request(const std::string& url, const std::string& command) const;
  ImapOptions options_;
};

// "* SEARCH 3 7 9" → {3, 7, 9}.
std::vector<uint32_t> ParseSearch(const std::string& response);

}  // namespace kaigo::plugins::otp_mailbox

#endif  // KAIGO_PLUGINS_OTP_MAILBOX_IMAP_CLIENT_H_

// The few IMAP requests the mailbox plugin needs, over libcurl (imaps only, TLS verified against
// the given CA): UIDs of mail since a day, one mail's Subject and Date, one whole mail.
// Every request ends by its deadline (and within 10 s); an answer larger than max_answer_bytes
// ends it with RESOURCE_EXHAUSTED ("mailbox: the mail server's answer is larger than N bytes").
// Errors: UNAUTHENTICATED (login refused), UNAVAILABLE (the server cannot be reached or is too
// slow), DEADLINE_EXCEEDED (the deadline passed), RESOURCE_EXHAUSTED (an answer too large).
// Thread-safe: each call uses its own handle. Calls block.
#ifndef KAIGO_PLUGINS_OTP_MAILBOX_IMAP_CLIENT_H_
#define KAIGO_PLUGINS_OTP_MAILBOX_IMAP_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace kaigo::plugins::otp_mailbox {

struct ImapOptions {
  std::string mailbox_url;  // imaps://host:port/INBOX
  std::string username;
  std::string password;
  std::string ca_pem;
  int64_t max_answer_bytes = int64_t{4} << 20;  // a search, headers or one whole mail
  std::string proxy;  // "http://host:port" (CONNECT), or "": none, not the environment's
  std::string proxy_credentials;  // "user:password", or ""
};

// The mailbox as the plugin reads it: the seam its unit tests answer through with mail of their
// own (otp_mailbox_test.cc); ImapClient is the real one. The errors above are its contract.
class Mailbox {
 public:
  virtual ~Mailbox() = default;
  // The largest answer read; a larger one is RESOURCE_EXHAUSTED.
  virtual int64_t max_answer_bytes() const = 0;
  // UIDs of the mail received on or after `day` (IMAP SINCE has day granularity), ascending.
  virtual absl::StatusOr<std::vector<uint32_t>> UidsSince(absl::CivilDay day,
                                                          absl::Time deadline) const = 0;
  // The header lines "Subject" and "Date" of one mail, as raw text.
  virtual absl::StatusOr<std::string> Headers(uint32_t uid, absl::Time deadline) const = 0;
  virtual absl::StatusOr<std::string> Message(uint32_t uid, absl::Time deadline) const = 0;
};

class ImapClient final : public Mailbox {
 public:
  explicit ImapClient(ImapOptions options) : options_(std::move(options)) {}
  int64_t max_answer_bytes() const override { return options_.max_answer_bytes; }

  absl::StatusOr<std::vector<uint32_t>> UidsSince(absl::CivilDay day,
                                                  absl::Time deadline) const override;
  absl::StatusOr<std::string> Headers(uint32_t uid, absl::Time deadline) const override;
  absl::StatusOr<std::string> Message(uint32_t uid, absl::Time deadline) const override;

 private:
  absl::StatusOr<std::string> Request(const std::string& url, const std::string& command,
                                      absl::Time deadline) const;
  ImapOptions options_;
};

// "* SEARCH 3 7 9" → {3, 7, 9}.
std::vector<uint32_t> ParseSearch(const std::string& response);

}  // namespace kaigo::plugins::otp_mailbox

#endif  // KAIGO_PLUGINS_OTP_MAILBOX_IMAP_CLIENT_H_

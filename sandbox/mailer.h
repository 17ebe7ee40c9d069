// The portal's outgoing mail, as real RFC 5322 messages delivered into one Maildir per address
// (DIR/mail/<address>/{tmp,new,cur}, tmp then rename, as Maildir wants). Each message takes the
// next of four encodings in turn, so a mailbox reader meets them all: ISO-2022-JP in 7bit,
// ISO-2022-JP in base64, UTF-8 in quoted-printable, and multipart/alternative with a UTF-8 base64
// text part and an HTML part. Subjects are RFC 2047 encoded words (ISO-2022-JP or UTF-8, B).
// Thread-safe.
#ifndef KAIGO_SANDBOX_MAILER_H_
#define KAIGO_SANDBOX_MAILER_H_

#include <atomic>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace kaigo::sandbox {

class Mailer {
 public:
  Mailer(std::string maildir_root, std::function<int64_t()> now)
      : root_(std::move(maildir_root)), now_(std::move(now)) {}

  absl::Status Send(const std::string& to, const std::string& from, const std::string& subject,
                    const std::string& text);

  // The RFC 5322 message Send would deliver with encoding `variant` (0–3).
  std::string Compose(const std::string& to, const std::string& from, const std::string& subject,
                      const std::string& text, int variant) const;

 private:
  std::string root_;
  std::function<int64_t()> now_;
  std::atomic<int> next_{0};
};

}  // namespace kaigo::sandbox

#endif  // KAIGO_SANDBOX_MAILER_H_

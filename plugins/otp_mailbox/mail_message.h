// Reading one mail (RFC 5322 + MIME) as the portal sends it, and the one-time password in it.
//
// Headers are unfolded; Subject is decoded from RFC 2047 encoded words (B and Q, ISO-2022-JP and
// UTF-8, and anything else iconv knows); Date is parsed (RFC 5322 form, numeric or named zones).
// The text is the first text/plain part (or the body of a single-part mail), its
// Content-Transfer-Encoding (base64, quoted-printable, 7bit, 8bit) undone and its charset turned
// into UTF-8. The code is the first run of 4–8 digits (half- or full-width) after
// "ワンタイムパスワード" or "パスワード"; without such a label, the only such run in the text.
//
// Outside input: never throws, never reads past its input. Pure; thread-safe.
#ifndef KAIGO_PLUGINS_OTP_MAILBOX_MAIL_MESSAGE_H_
#define KAIGO_PLUGINS_OTP_MAILBOX_MAIL_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kaigo::plugins::otp_mailbox {

struct MailMessage {
  std::string subject;  // decoded, UTF-8
  std::string from;
  std::optional<int64_t> date;  // Unix seconds
  std::string text;             // decoded, UTF-8
};

absl::StatusOr<MailMessage> ParseMail(std::string_view raw);

// "=?ISO-2022-JP?B?…?=" and friends inside a header value, decoded to UTF-8.
std::string DecodeHeader(std::string_view value);

// Bytes in `charset` to UTF-8; INVALID_ARGUMENT for an unknown charset or bad bytes.
absl::StatusOr<std::string> ToUtf8(std::string_view bytes, std::string_view charset);

// NOT_FOUND when the text holds no code.
absl::StatusOr<std::string> ExtractOtp(std::string_view text);

}  // namespace kaigo::plugins::otp_mailbox

#endif  // KAIGO_PLUGINS_OTP_MAILBOX_MAIL_MESSAGE_H_

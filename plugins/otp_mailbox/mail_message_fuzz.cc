#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mail_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  using namespace kaigo::plugins::otp_mailbox;
  auto mail = ParseMail(input);
  if (mail.ok()) {
    auto code = ExtractOtp(mail->text);
    if (code.ok() && (code->size() < 4 || code->size() > 8)) __builtin_trap();
  }
  (void)DecodeHeader(input);
  (void)ExtractOtp(input);
  return 0;
}

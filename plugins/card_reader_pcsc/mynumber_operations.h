// The card operations, over one CardSession each, with the fewest APDUs the card allows:
//
//   ReadCardInfo:       SELECT 券面事項入力補助AP, SELECT 0011, VERIFY, SELECT 0002, READ BINARY
//                       (one 256-byte read covers the attributes; more only for a longer EF),
//                       and with the My Number SELECT 0001, READ BINARY — 5, or 7 APDUs.
//   AuthenticateHolder: SELECT JPKI-AP, SELECT 0018, VERIFY, SELECT 0017, COMPUTE DIGITAL
//                       SIGNATURE, SELECT 000A, READ BINARY × ceil(N / 256) — the first read asks
//                       for 256 bytes and learns the certificate's length from its DER header, so
//                       no separate header read is needed — 6 + ceil(N / 256) APDUs.
//   DetectKind:         SELECT JPKI-AP — 1 APDU.
//
// The PIN is checked for form (4 digits) before it reaches the card, so a typo never costs a
// try. Status words: 63Cx → UNAUTHENTICATED "pin: wrong PIN (tries_left=x)"; 63C0, 6983, 6984 →
// PERMISSION_DENIED (blocked). The PIN is never logged or kept. Thread-compatible.
#ifndef KAIGO_PLUGINS_CARD_READER_PCSC_MYNUMBER_OPERATIONS_H_
#define KAIGO_PLUGINS_CARD_READER_PCSC_MYNUMBER_OPERATIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "card_data.h"
#include "card_transport.h"

namespace kaigo::plugins::card {

struct Authentication {
  std::string signature;
  std::string certificate;  // DER
};

class MyNumberOperations {
 public:
  explicit MyNumberOperations(CardSession* session) : session_(session) {}

  // True when the JPKI application can be selected.
  absl::StatusOr<bool> IsMyNumberCard();
  absl::StatusOr<BasicFour> ReadAttributes(const std::string& pin, std::string* my_number);
  absl::StatusOr<Authentication> Authenticate(const std::string& pin, std::string_view challenge);

  int apdus() const { return apdus_; }

 private:
  absl::StatusOr<CardResponse> Send(const std::string& apdu);
  absl::Status Expect9000(const std::string& apdu, const char* what);
  absl::Status VerifyPin(uint16_t pin_ef, const std::string& pin);
  // The whole EF selected last, its length taken from the TLV header of the first read.
  absl::StatusOr<std::string> ReadTlvFile(const char* what);

  CardSession* session_;
  int apdus_ = 0;
};

// INVALID_ARGUMENT unless `pin` is 4 half-width digits.
absl::Status CheckFourDigitPin(const std::string& pin);

}  // namespace kaigo::plugins::card

#endif  // KAIGO_PLUGINS_CARD_READER_PCSC_MYNUMBER_OPERATIONS_H_

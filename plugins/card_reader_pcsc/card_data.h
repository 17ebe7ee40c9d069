// The bytes of the My Number card (shared/reference/mynumber-card-pcsc.md A1–A5): the APDUs the
// plugin sends, and parsers of what comes back — R-APDUs, BER-TLV (tags of 1–3 bytes, definite
// lengths of 1–4 bytes), the total length of a TLV from its first bytes, the My Number (D0) and
// the four attributes (FF20 { DF21 offsets, DF22 name, DF23 address, DF24 birth date, DF25 sex }).
// Parsers take outside input: they never read past their input and never throw. Pure;
// thread-safe.
#ifndef KAIGO_PLUGINS_CARD_READER_PCSC_CARD_DATA_H_
#define KAIGO_PLUGINS_CARD_READER_PCSC_CARD_DATA_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kaigo::plugins::card {

extern const std::string_view kJpkiAid;  // 公的個人認証AP
extern const std::string_view kInfoAid;  // 券面事項入力補助AP

constexpr uint16_t kAuthCertificateEf = 0x000A;
constexpr uint16_t kAuthKeyEf = 0x0017;
constexpr uint16_t kAuthPinEf = 0x0018;
constexpr uint16_t kInfoPinEf = 0x0011;
constexpr uint16_t kMyNumberEf = 0x0001;
constexpr uint16_t kAttributesEf = 0x0002;

std::string SelectApplication(std::string_view aid);         // 00 A4 04 0C
std::string SelectFile(uint16_t fid);                        // 00 A4 02 0C
std::string ReadBinary(size_t offset, size_t length);        // 00 B0, length 1–256 (256 as Le 00)
std::string Verify(std::string_view pin);                    // 00 20 00 80
std::string ComputeSignature(std::string_view digest_info);  // 80 2A 00 80 … 00
// The DER DigestInfo of SHA-256(data).
std::string Sha256DigestInfo(std::string_view data);

struct CardResponse {
  std::string data;
  uint16_t sw = 0;
};
// INVALID_ARGUMENT when shorter than the two status bytes.
absl::StatusOr<CardResponse> SplitResponse(std::string_view rapdu);

// The total length (tag + length + value) of the TLV starting `head`; OUT_OF_RANGE when `head`
// is too short to tell, INVALID_ARGUMENT when it is not a TLV.
absl::StatusOr<size_t> TlvTotalLength(std::string_view head);

struct Tlv {
  std::string_view tag;
  std::string_view value;
};
// The TLVs that fill `data` exactly, in order.
absl::StatusOr<std::vector<Tlv>> ParseTlvs(std::string_view data);

// EF 0001 of the 券面事項入力補助AP: D0 0C + 12 digits.
absl::StatusOr<std::string> ParseMyNumber(std::string_view ef);

struct BasicFour {
  std::string name;
  std::string address;
  std::string birth_date;  // as written, e.g. "19450315"
  std::string sex;         // ISO 5218 digit
};
// EF 0002 of the 券面事項入力補助AP.
absl::StatusOr<BasicFour> ParseBasicFour(std::string_view ef);

}  // namespace kaigo::plugins::card

#endif  // KAIGO_PLUGINS_CARD_READER_PCSC_CARD_DATA_H_

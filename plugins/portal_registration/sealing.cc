#include "sealing.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "aes_gcm.h"

namespace kaigo::plugins::portal {

absl::StatusOr<Sealer> Sealer::FromSecret(std::string key) {
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  if (key.size() == 64) {
    std::string raw = absl::HexStringToBytes(key);
    if (raw.size() == 32 && absl::BytesToHexString(raw) == absl::AsciiStrToLower(key)) {
      return Sealer(raw);
    }
  }
  if (key.size() != 32) {
    return absl::InvalidArgumentError("sealing_key_secret: 32 bytes or 64 hex digits are required");
  }
  return Sealer(key);
}

std::string Sealer::Seal(std::string_view plain) const { return AesGcmSeal(key_, plain); }

absl::StatusOr<std::string> Sealer::Open(std::string_view sealed) const {
  return AesGcmOpen(key_, sealed);
}

}  // namespace kaigo::plugins::portal

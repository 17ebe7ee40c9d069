// Sealing secrets at rest: AES-256-GCM (plugins/common/aes_gcm: random 96-bit nonce, laid out
// nonce || ciphertext || tag). The key (32 bytes) comes from an office secret, as 64 hex digits or
// 32 raw bytes. Thread-safe.
#ifndef KAIGO_PLUGINS_PORTAL_REGISTRATION_SEALING_H_
#define KAIGO_PLUGINS_PORTAL_REGISTRATION_SEALING_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kaigo::plugins::portal {

class Sealer {
 public:
  // INVALID_ARGUMENT unless `key` is 32 bytes or 64 hex digits (trailing newline ignored).
  static absl::StatusOr<Sealer> FromSecret(std::string key);
  std::string Seal(std::string_view plain) const;
  // DATA_LOSS when the bytes were not sealed with this key or were altered.
  absl::StatusOr<std::string> Open(std::string_view sealed) const;

 private:
  explicit Sealer(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace kaigo::plugins::portal

#endif  // KAIGO_PLUGINS_PORTAL_REGISTRATION_SEALING_H_

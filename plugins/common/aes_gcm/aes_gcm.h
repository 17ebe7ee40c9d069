// AES-256-GCM with a random 96-bit nonce, laid out nonce || ciphertext || tag (16 bytes), and
// optional additional data bound to the ciphertext. Shared by what seals values at rest: the
// engine's store (engine/store/sealing_store.h) and the portal plugin's passwords.
//
// Thread-safe: plain functions over their arguments.
#ifndef KAIGO_PLUGINS_COMMON_AES_GCM_AES_GCM_H_
#define KAIGO_PLUGINS_COMMON_AES_GCM_AES_GCM_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kaigo::plugins {

inline constexpr size_t kAesGcmKeyBytes = 32;
inline constexpr size_t kAesGcmOverhead = 12 + 16;  // nonce and tag

// `key` must be kAesGcmKeyBytes long (a programming error otherwise).
std::string AesGcmSeal(std::string_view key, std::string_view plain, std::string_view aad = {});
// DATA_LOSS when `sealed` was not sealed with `key` and `aad`, or was altered.
absl::StatusOr<std::string> AesGcmOpen(std::string_view key, std::string_view sealed,
                                       std::string_view aad = {});

}  // namespace kaigo::plugins

#endif  // KAIGO_PLUGINS_COMMON_AES_GCM_AES_GCM_H_

#include "sealing.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"

namespace kaigo::plugins::portal {

namespace {

constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;

}  // namespace

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

std::string Sealer::Seal(std::string_view plain) const {
  std::string out(kNonce + plain.size() + kTag, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  RAND_bytes(bytes, kNonce);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                     reinterpret_cast<const unsigned char*>(key_.data()), bytes);
  EVP_EncryptUpdate(ctx, bytes + kNonce, &n, reinterpret_cast<const unsigned char*>(plain.data()),
                    static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(ctx, bytes + kNonce + n, &n);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTag, bytes + kNonce + plain.size());
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

absl::StatusOr<std::string> Sealer::Open(std::string_view sealed) const {
  if (sealed.size() < kNonce + kTag) return absl::DataLossError("sealed value too short");
  size_t size = sealed.size() - kNonce - kTag;
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string plain(size, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                     reinterpret_cast<const unsigned char*>(key_.data()), bytes);
  EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &n, bytes + kNonce,
                    static_cast<int>(size));
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTag,
                      const_cast<unsigned char*>(bytes + kNonce + size));
  int ok = EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(plain.data()) + n, &n);
  EVP_CIPHER_CTX_free(ctx);
  if (ok != 1) return absl::DataLossError("a sealed value does not open with the sealing key");
  return plain;
}

}  // namespace kaigo::plugins::portal

#include "aes_gcm.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>

namespace kaigo::plugins {

namespace {

constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string AesGcmSeal(std::string_view key, std::string_view plain, std::string_view aad) {
  if (key.size() != kAesGcmKeyBytes) std::abort();
  std::string out(kNonce + plain.size() + kTag, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(bytes, kNonce) != 1) std::abort();  // never seal under a predictable nonce
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int n = 0;
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), bytes);
  if (!aad.empty()) {
    EVP_EncryptUpdate(ctx.get(), nullptr, &n, Bytes(aad), static_cast<int>(aad.size()));
  }
  EVP_EncryptUpdate(ctx.get(), bytes + kNonce, &n, Bytes(plain), static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(ctx.get(), bytes + kNonce + n, &n);
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, bytes + kNonce + plain.size());
  return out;
}

absl::StatusOr<std::string> AesGcmOpen(std::string_view key, std::string_view sealed,
                                       std::string_view aad) {
  if (key.size() != kAesGcmKeyBytes) std::abort();
  if (sealed.size() < kNonce + kTag) return absl::DataLossError("sealed value too short");
  size_t size = sealed.size() - kNonce - kTag;
  const unsigned char* bytes = Bytes(sealed);
  std::string plain(size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int n = 0;
  EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), bytes);
  if (!aad.empty()) {
    EVP_DecryptUpdate(ctx.get(), nullptr, &n, Bytes(aad), static_cast<int>(aad.size()));
  }
  EVP_DecryptUpdate(ctx.get(), out, &n, bytes + kNonce, static_cast<int>(size));
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag,
                      const_cast<unsigned char*>(bytes + kNonce + size));
  if (EVP_DecryptFinal_ex(ctx.get(), out + n, &n) != 1) {
    return absl::DataLossError("a sealed value does not open with the sealing key");
  }
  return plain;
}

}  // namespace kaigo::plugins

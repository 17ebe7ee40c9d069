#include "recipient_ref.h"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"

namespace kaigo::plugins {

std::string RecipientRefs::Of(const std::string& insurer, const std::string& insured) {
  std::lock_guard<std::mutex> lock(mu_);
  if (key_.empty()) {
    auto stored = host_.StoreGet("audit-ref-key");
    if (stored.ok()) {
      key_ = *stored;
    } else {
      unsigned char bytes[32];
      RAND_bytes(bytes, sizeof bytes);
      key_.assign(reinterpret_cast<char*>(bytes), sizeof bytes);
      host_.StorePut("audit-ref-key", key_).IgnoreError();
    }
  }
  std::string subject = insurer + ":" + insured;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(subject.data()), subject.size(), mac, &size);
  return "r:" + absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), 12));
}

}  // namespace kaigo::plugins

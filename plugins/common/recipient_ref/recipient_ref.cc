#include "recipient_ref.h"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"

namespace kaigo::plugins {

namespace {
constexpr char kKeptKey[] = "audit-ref-key";  // the per-(plugin, office) key before engine keys
}  // namespace

std::string RecipientRefUnder(std::string_view key, std::string_view insurer,
                              std::string_view insured) {
  std::string subject = std::string(insurer) + ":" + std::string(insured);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(subject.data()), subject.size(), mac, &size);
  return "r:" + absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), 12));
}

void RecipientRefs::Load() {
  if (loaded_) return;
  if (auto stored = host_.StoreGet(kKeptKey); stored.ok()) kept_key_ = *std::move(stored);
  if (auto lent = host_.Secret(sdk::kRecipientRefSecret); lent.ok() && !lent->empty()) {
    key_ = *std::move(lent);
  } else if (kept_key_) {
    key_ = *kept_key_;  // a host without keys: as before
  } else {
    unsigned char bytes[32];
    RAND_bytes(bytes, sizeof bytes);
    key_.assign(reinterpret_cast<char*>(bytes), sizeof bytes);
    host_.StorePut(kKeptKey, key_).IgnoreError();
  }
  loaded_ = true;
}

std::string RecipientRefs::Of(const std::string& insurer, const std::string& insured) {
  std::lock_guard<std::mutex> lock(mu_);
  Load();
  return RecipientRefUnder(key_, insurer, insured);
}

std::vector<std::string> RecipientRefs::AllOf(const std::string& insurer,
                                              const std::string& insured) {
  std::lock_guard<std::mutex> lock(mu_);
  Load();
  std::vector<std::string> refs = {RecipientRefUnder(key_, insurer, insured)};
  if (kept_key_ && *kept_key_ != key_)
    refs.push_back(RecipientRefUnder(*kept_key_, insurer, insured));
  return refs;
}

}  // namespace kaigo::plugins

#include "sandbox/card_verifier.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509_vfy.h>

namespace kaigo::sandbox {

namespace {

constexpr int64_t kChallengeSeconds = 300;

BusinessError Refuse(const char* code, std::string message) {
  return BusinessError{code, std::move(message), nlohmann::json::object()};
}

}  // namespace

CardVerifier::CardVerifier(const std::string& ca_pem, std::function<int64_t()> now)
    : now_(std::move(now)) {
  if (ca_pem.empty()) return;
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  ca_ = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
}

CardVerifier::~CardVerifier() { X509_free(ca_); }

std::string CardVerifier::IssueChallenge(const std::string& office) {
  std::string challenge(32, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(challenge.data()), 32);
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = now_();
  for (auto it = challenges_.begin(); it != challenges_.end();) {
    it = it->second.expires_at < now ? challenges_.erase(it) : std::next(it);
  }
  challenges_[challenge] = {office, now + kChallengeSeconds};
  return challenge;
}

std::optional<CardHolder> CardVerifier::Verify(const std::string& office,
                                               const std::string& challenge,
                                               const std::string& certificate_der,
                                               const std::string& signature,
                                               std::optional<BusinessError>* error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = challenges_.find(challenge);
    if (it == challenges_.end() || it->second.office != office || it->second.expires_at < now_()) {
      *error = Refuse("CHALLENGE_INVALID", "the challenge is unknown, used or expired");
      return std::nullopt;
    }
    challenges_.erase(it);  // single use, whatever follows
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(certificate_der.data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(certificate_der.size()));
  if (cert == nullptr || ca_ == nullptr) {
    X509_free(cert);
    *error = Refuse("CARD_CERTIFICATE_INVALID", "the certificate is not an X.509 certificate");
    return std::nullopt;
  }
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca_);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, nullptr);
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), static_cast<time_t>(now_()));
  bool chained = X509_verify_cert(ctx) == 1;
  std::string why = chained ? "" : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  std::optional<CardHolder> holder;
  if (!chained) {
    *error = Refuse("CARD_CERTIFICATE_INVALID", "the certificate does not verify: " + why);
  } else {
    EVP_PKEY* key = X509_get0_pubkey(cert);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    bool valid =
        EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(), reinterpret_cast<const unsigned char*>(challenge.data()),
                         challenge.size()) == 1;
    EVP_MD_CTX_free(md);
    char cn[128] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn - 1);
    if (!valid) {
      *error = Refuse("CARD_SIGNATURE_INVALID", "the signature over the challenge does not verify");
    } else {
      for (const auto& h : kCardHolders) {
        if (std::string(cn) == h.certificate_cn) holder = h;
      }
      if (!holder) *error = Refuse("CARD_UNKNOWN", "no recipient is linked to this card");
    }
  }
  X509_free(cert);
  return holder;
}

}  // namespace kaigo::sandbox

// The platform's side of identification by My Number card, as the sandbox models it: it hands
// out single-use challenges (32 random bytes, 5 minutes, bound to the office that asked), and
// checks what comes back — the card's user-authentication certificate chains to the test JPKI CA
// and is within its validity, the signature is RSA PKCS#1 v1.5 over SHA-256(challenge) by that
// certificate's key — then maps the certificate to a recipient (card_holders.h).
// Thread-safe.
#ifndef KAIGO_SANDBOX_CARD_VERIFIER_H_
#define KAIGO_SANDBOX_CARD_VERIFIER_H_

#include <openssl/x509.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "sandbox/card_holders.h"
#include "sandbox/platform_model.h"

namespace kaigo::sandbox {

class CardVerifier {
 public:
  // `ca_pem` empty: every card is refused (make-certs was run without the JPKI).
  CardVerifier(const std::string& ca_pem, std::function<int64_t()> now);
  ~CardVerifier();

  std::string IssueChallenge(const std::string& office);
  // The holder the certificate belongs to, or the business error (CHALLENGE_INVALID,
  // CARD_CERTIFICATE_INVALID, CARD_SIGNATURE_INVALID, CARD_UNKNOWN).
  std::optional<CardHolder> Verify(const std::string& office, const std::string& challenge,
                                   const std::string& certificate_der, const std::string& signature,
                                   std::optional<BusinessError>* error);

 private:
  X509* ca_ = nullptr;
  std::function<int64_t()> now_;
  std::mutex mu_;
  struct Issued {
    std::string office;
    int64_t expires_at;
  };
  std::map<std::string, Issued> challenges_;
};

}  // namespace kaigo::sandbox

#endif  // KAIGO_SANDBOX_CARD_VERIFIER_H_

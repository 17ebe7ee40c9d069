#include "engine/router/caller_identity.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace kaigo::engine {

namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using CrlPtr = std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)>;

X509Ptr ParseCertificate(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr), &X509_free);
  BIO_free(bio);
  return cert;
}

std::string NameDer(X509_NAME* name) {
  unsigned char* der = nullptr;
  int size = i2d_X509_NAME(name, &der);
  if (size <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(size));
  OPENSSL_free(der);
  return out;
}

std::string SerialHex(const ASN1_INTEGER* serial) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const RevocationList>> RevocationList::Parse(
    const std::string& bytes) {
  BIO* bio = BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size()));
  CrlPtr crl(PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr), &X509_CRL_free);
  BIO_free(bio);
  if (crl == nullptr) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size())));
  }
  if (crl == nullptr) return absl::InvalidArgumentError("not a certificate revocation list");
  auto list = std::make_shared<RevocationList>();
  list->issuer_ = NameDer(X509_CRL_get_issuer(crl.get()));
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    list->serials_.insert(
        SerialHex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i))));
  }
  return std::shared_ptr<const RevocationList>(std::move(list));
}

bool RevocationList::Revokes(const std::string& pem) const {
  X509Ptr cert = ParseCertificate(pem);
  if (cert == nullptr) return false;
  return NameDer(X509_get_issuer_name(cert.get())) == issuer_ &&
         serials_.count(SerialHex(X509_get0_serialNumber(cert.get()))) > 0;
}

std::string CertificateSha256(const std::string& pem) {
  X509Ptr cert = ParseCertificate(pem);
  if (cert == nullptr) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(cert.get(), EVP_sha256(), digest, &size) != 1) return "";
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), size));
}

absl::StatusOr<std::string> IdentifyCaller(const PeerCertificate& peer,
                                           const std::function<bool(const std::string&)>& known,
                                           const CallerVerification& verification) {
  if (peer.pem.empty() && peer.common_name.empty()) return std::string("anonymous");
  if (peer.common_name.empty() && peer.subject_alt_names.empty()) {
    return absl::UnauthenticatedError(
        "the client certificate names no identity (neither a common name nor a subject "
        "alternative name)");
  }
  if (verification.revoked != nullptr && verification.revoked->Revokes(peer.pem)) {
    return absl::UnauthenticatedError(
        "the client certificate is revoked (server.tls.client_crl_file)");
  }
  std::string identity =
      !peer.common_name.empty() ? peer.common_name : peer.subject_alt_names.front();
  if (!known(peer.common_name)) {
    for (const auto& name : peer.subject_alt_names) {
      if (known(name)) {
        identity = name;
        break;
      }
    }
  }
  auto pin = verification.sha256_pins.find(identity);
  if (pin != verification.sha256_pins.end() && CertificateSha256(peer.pem) != pin->second) {
    return absl::PermissionDeniedError(
        absl::StrCat("caller '", identity,
                     "': the certificate is not the one pinned for it (certificate_sha256)"));
  }
  return identity;
}

}  // namespace kaigo::engine

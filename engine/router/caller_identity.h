// Who a peer is: the identity its client certificate proves, matched against the configured
// callers by common name or by a subject alternative name, optionally pinned to the certificate's
// SHA-256 fingerprint, and refused when a certificate revocation list names it.
//
// Immutable after construction; thread-safe to read.
#ifndef KAIGO_ENGINE_ROUTER_CALLER_IDENTITY_H_
#define KAIGO_ENGINE_ROUTER_CALLER_IDENTITY_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kaigo::engine {

// What the transport knows of the peer's certificate (empty `pem`: none presented).
struct PeerCertificate {
  std::string common_name;
  std::vector<std::string> subject_alt_names;
  std::string pem;
};

// A certificate revocation list (PEM or DER), by the serial numbers it revokes for its issuer.
class RevocationList {
 public:
  static absl::StatusOr<std::shared_ptr<const RevocationList>> Parse(const std::string& bytes);
  // Whether `pem` (a certificate) is revoked: issued by the list's issuer with a listed serial.
  bool Revokes(const std::string& pem) const;

 private:
  std::string issuer_;             // DER of the issuer name
  std::set<std::string> serials_;  // hex
};

// The callers' pins and the revocation list, from the configuration.
struct CallerVerification {
  std::map<std::string, std::string> sha256_pins;  // identity → hex fingerprint
  std::shared_ptr<const RevocationList> revoked;   // may be null
};

// The identity of `peer`, `known` telling the configured callers' identities: "anonymous" without a
// certificate; the common name or the first subject alternative name that is a known identity,
// else the common name (or the first name) as is. UNAUTHENTICATED for a certificate naming no
// identity or a revoked one; PERMISSION_DENIED for a pinned identity whose fingerprint differs.
absl::StatusOr<std::string> IdentifyCaller(const PeerCertificate& peer,
                                           const std::function<bool(const std::string&)>& known,
                                           const CallerVerification& verification);

// Hex SHA-256 of the certificate's DER, or "" when `pem` does not parse.
std::string CertificateSha256(const std::string& pem);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_ROUTER_CALLER_IDENTITY_H_

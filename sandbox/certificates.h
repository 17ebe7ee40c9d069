// The sandbox's own test PKI, made when tests or the demo start (never committed): a CA, a server
// certificate for 127.0.0.1/localhost, and one client certificate per office whose subject common
// name is the office number — as PKCS#12 (what offices receive from 国保中央会's CA) and as PEM.
// Keys are EC P-256. Not thread-safe.
#ifndef KAIGO_SANDBOX_CERTIFICATES_H_
#define KAIGO_SANDBOX_CERTIFICATES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace kaigo::sandbox {

// Writes into `dir`: ca.crt/ca.key, server.crt/server.key, and for each office number N
// office-N.p12 (protected by `p12_password`), office-N.crt and office-N.key. Certificates are
// valid from an hour before `now` (the sandbox's clock) for `days`, and at the system time.
absl::Status MakeCertificates(const std::string& dir, const std::vector<std::string>& offices,
                              const std::string& p12_password, absl::Time now, int days);

// A test JPKI for My Number cards, RSA-2048 as on the card: writes jpki-ca.crt/jpki-ca.key (the
// user-authentication CA) and, for each common name C, jpki-card-C.crt and jpki-card-C.key (the
// card's 利用者証明用電子証明書, subject CN=C, C=JP, and its key).
absl::Status MakeJpkiCertificates(const std::string& dir,
                                  const std::vector<std::string>& common_names, absl::Time now,
                                  int days);

}  // namespace kaigo::sandbox

#endif  // KAIGO_SANDBOX_CERTIFICATES_H_

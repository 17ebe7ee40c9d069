// `kaigo-bridge import-certificate`: puts an office's new PKCS#12 certificate (and its password)
// where the configuration's `file:` secrets expect them, after checking that it opens with the
// password, names the office, and has not expired.
#ifndef KAIGO_ENGINE_MAIN_IMPORT_CERTIFICATE_H_
#define KAIGO_ENGINE_MAIN_IMPORT_CERTIFICATE_H_

#include <string>
#include <vector>

namespace kaigo::engine {

// args: --config FILE --office N --password-file F [--clock-offset D] CERTIFICATE.p12.
// The office's platform settings name the secrets (platform.certificate_secret and
// platform.certificate_password_secret). Refuses, naming the field, a secret bound to `env:` or
// a file whose directory cannot be written. Each file is replaced atomically with mode 0400 and
// the owner of the one it replaces. Exit status 0 written, 1 refused, 2 usage.
int ImportCertificate(const std::vector<std::string>& args);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_MAIN_IMPORT_CERTIFICATE_H_

#include "engine/main/import_certificate.h"

#include <fcntl.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/config/config_loader.h"
#include "engine/main/flags.h"
#include "kaigo/sdk/clock.h"

namespace kaigo::engine {

namespace {

absl::StatusOr<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(path + ": cannot be read");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// What the certificate says of itself once it opens.
struct CertificateFacts {
  std::string common_name;
  absl::Time not_before, not_after;
};

absl::Time ToTime(const ASN1_TIME* t) {
  struct tm parts {};
  if (ASN1_TIME_to_tm(t, &parts) != 1) return absl::InfinitePast();
  return absl::FromTM(parts, absl::UTCTimeZone());
}

absl::StatusOr<CertificateFacts> Open(const std::string& p12, const std::string& password,
                                      const std::string& file) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(p12.data());
  PKCS12* bundle = d2i_PKCS12(nullptr, &bytes, static_cast<long>(p12.size()));
  if (bundle == nullptr) return absl::InvalidArgumentError(file + ": not a PKCS#12 file");
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  bool opened = PKCS12_parse(bundle, password.c_str(), &key, &cert, &chain) == 1;
  PKCS12_free(bundle);
  if (!opened || cert == nullptr || key == nullptr) {
    EVP_PKEY_free(key);
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    return absl::InvalidArgumentError(file +
                                      ": does not open with the password of --password-file "
                                      "(or holds no certificate and key)");
  }
  CertificateFacts facts;
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
  facts.common_name = name;
  facts.not_before = ToTime(X509_get0_notBefore(cert));
  facts.not_after = ToTime(X509_get0_notAfter(cert));
  EVP_PKEY_free(key);
  X509_free(cert);
  sk_X509_pop_free(chain, X509_free);
  return facts;
}

// Where one secret of the office is written: its file, or why it cannot be.
absl::StatusOr<std::string> TargetOf(const LoadedConfig& loaded, int office,
                                     const std::string& secret, const std::string& setting) {
  const auto& o = loaded.config.offices(office);
  for (int i = 0; i < o.secrets_size(); ++i) {
    if (o.secrets(i).name() != secret) continue;
    std::string field = absl::StrCat("offices[", office, "].secrets[", i, "].ref");
    if (o.secrets(i).ref().file().empty()) {
      return absl::FailedPreconditionError(
          field + ": secret '" + secret +
          "' is bound to env:, which cannot be written; bind it to a file: to import into it");
    }
    std::string path = loaded.Resolve(o.secrets(i).ref().file());
    std::string dir = path.substr(0, path.rfind('/') + 1);
    if (access(dir.empty() ? "." : dir.c_str(), W_OK) != 0) {
      return absl::FailedPreconditionError(field + ".file: " + dir +
                                           " cannot be written (read-only or not ours)");
    }
    return path;
  }
  return absl::FailedPreconditionError(absl::StrCat("offices[", office, "].secrets: no secret '",
                                                    secret, "', which ", setting, " names"));
}

// Replaces `path` atomically with `content`, mode 0400, owned as the file it replaces.
absl::Status WriteSecretFile(const std::string& path, const std::string& content) {
  struct stat old {};
  bool existed = stat(path.c_str(), &old) == 0;
  std::string temporary = path + ".import-XXXXXX";
  int fd = mkstemp(temporary.data());
  if (fd < 0) return absl::UnavailableError(path + ": cannot write beside it");
  bool ok = fchmod(fd, 0400) == 0 &&
            write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
            fsync(fd) == 0;
  if (ok && existed && (old.st_uid != geteuid() || old.st_gid != getegid())) {
    ok = fchown(fd, old.st_uid, old.st_gid) == 0;
  }
  close(fd);
  if (!ok || rename(temporary.c_str(), path.c_str()) != 0) {
    unlink(temporary.c_str());
    return absl::UnavailableError(path + ": could not be replaced");
  }
  return absl::OkStatus();
}

// The office's platform setting `name` (e.g. certificate_secret), the same in every concern that
// has one; "" when none has it.
absl::StatusOr<std::string> PlatformSetting(const LoadedConfig& loaded, int office,
                                            const std::string& name) {
  std::string found;
  for (const auto& pending : loaded.settings) {
    if (pending.office != office) continue;
    auto value = pending.node.Find("platform").Find(name);
    if (!value || !value.IsScalar()) continue;
    std::string v(value.Scalar());
    if (!found.empty() && found != v) {
      return absl::FailedPreconditionError(
          absl::StrCat("offices[", office, "]: the concerns name different platform.", name, " ('",
                       found, "', '", v, "'); import into each by hand"));
    }
    found = v;
  }
  return found;
}

int Refuse(const absl::Status& status) {
  std::cerr << "import-certificate: " << status.message() << "\n";
  return 1;
}

}  // namespace

int ImportCertificate(const std::vector<std::string>& args) {
  std::string config = Flag(args, "--config"), office_number = Flag(args, "--office"),
              password_file = Flag(args, "--password-file");
  std::string p12_file = args.empty() ? "" : args.back();
  if (config.empty() || office_number.empty() || password_file.empty() || p12_file.empty() ||
      p12_file[0] == '-' || p12_file == password_file) {
    std::cerr << "usage: kaigo-bridge import-certificate --config FILE --office N "
                 "--password-file FILE CERTIFICATE.p12\n";
    return 2;
  }
  absl::Time now = absl::Now();
  if (std::string offset = Flag(args, "--clock-offset"); !offset.empty()) {
    auto parsed = kaigo::ParseClockOffset(offset);
    if (!parsed.ok()) return Refuse(parsed.status());
    now += *parsed;
  }
  ConfigErrors errors;
  LoadedConfig loaded = LoadConfig(config, &errors);
  if (!loaded.parsed || !errors.list().empty()) {
    for (const auto& e : errors.list()) std::cerr << e << "\n";
    return 1;
  }
  int office = -1;
  for (int i = 0; i < loaded.config.offices_size(); ++i) {
    if (loaded.config.offices(i).number() == office_number) office = i;
  }
  if (office < 0) return Refuse(absl::NotFoundError("--office: no office " + office_number));
  auto certificate_secret = PlatformSetting(loaded, office, "certificate_secret");
  auto password_secret = PlatformSetting(loaded, office, "certificate_password_secret");
  if (!certificate_secret.ok()) return Refuse(certificate_secret.status());
  if (!password_secret.ok()) return Refuse(password_secret.status());
  if (certificate_secret->empty()) {
    return Refuse(absl::FailedPreconditionError(
        absl::StrCat("offices[", office, "]: no concern names platform.certificate_secret")));
  }
  auto p12_target = TargetOf(loaded, office, *certificate_secret, "platform.certificate_secret");
  if (!p12_target.ok()) return Refuse(p12_target.status());
  absl::StatusOr<std::string> password_target = std::string();
  if (!password_secret->empty()) {
    password_target =
        TargetOf(loaded, office, *password_secret, "platform.certificate_password_secret");
    if (!password_target.ok()) return Refuse(password_target.status());
  }

  auto p12 = ReadWhole(p12_file);
  auto password = ReadWhole(password_file);
  if (!p12.ok()) return Refuse(p12.status());
  if (!password.ok()) return Refuse(password.status());
  std::string bare_password = *password;
  while (!bare_password.empty() && (bare_password.back() == '\n' || bare_password.back() == '\r')) {
    bare_password.pop_back();
  }
  auto facts = Open(*p12, bare_password, p12_file);
  if (!facts.ok()) return Refuse(facts.status());
  if (facts->common_name != office_number) {
    return Refuse(absl::FailedPreconditionError(p12_file + ": issued to CN=" + facts->common_name +
                                                ", not to office " + office_number));
  }
  if (now >= facts->not_after) {
    return Refuse(absl::FailedPreconditionError(
        p12_file + ": expired on " +
        absl::FormatTime("%Y-%m-%d", facts->not_after, absl::UTCTimeZone())));
  }
  if (now < facts->not_before) {
    return Refuse(absl::FailedPreconditionError(
        p12_file + ": not valid before " +
        absl::FormatTime("%Y-%m-%d", facts->not_before, absl::UTCTimeZone())));
  }
  if (!password_target->empty()) {
    if (absl::Status s = WriteSecretFile(*password_target, *password); !s.ok()) return Refuse(s);
  }
  if (absl::Status s = WriteSecretFile(*p12_target, *p12); !s.ok()) return Refuse(s);
  int64_t days = absl::ToInt64Hours(facts->not_after - now) / 24;
  std::cout << "office " << office_number << ": certificate CN=" << facts->common_name
            << ", valid until "
            << absl::FormatTime("%Y-%m-%d", facts->not_after, absl::UTCTimeZone()) << " (" << days
            << " days)" << (days < 90 ? " — renew it soon" : "") << "\n  written to " << *p12_target
            << (password_target->empty() ? "" : "\n  its password to " + *password_target)
            << "\n  the engine takes it at its next reload (systemctl reload kaigo-bridge)\n";
  return 0;
}

}  // namespace kaigo::engine

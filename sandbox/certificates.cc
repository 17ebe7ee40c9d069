#include "sandbox/certificates.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "absl/time/clock.h"

namespace kaigo::sandbox {

namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

Key NewKey() { return Key(EVP_EC_gen("P-256"), &EVP_PKEY_free); }
Key NewRsaKey() { return Key(EVP_RSA_gen(2048), &EVP_PKEY_free); }

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `common_name`, signed by `issuer_key` (self-signed when
// `issuer` is null), valid from an hour before `now` (the sandbox's clock) for `days` — and at
// the system time too, so that tools which check at the system time (curl in a test's shell)
// accept it under a moved clock.
Cert Issue(absl::Time now, int days, EVP_PKEY* key, const std::string& common_name, X509* issuer,
           EVP_PKEY* issuer_key, long serial,
           const std::vector<std::pair<int, const char*>>& extensions,
           const char* organization = "kaigo-sandbox") {
  Cert cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  absl::Time system = absl::Now();
  time_t from = absl::ToTimeT(std::min(now, system));
  time_t until = absl::ToTimeT(std::max(now, system));
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -3600, &from);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &until);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(organization), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  for (const auto& [nid, value] : extensions) {
    if (!AddExtension(cert.get(), issuer ? issuer : cert.get(), nid, value))
      return Cert(nullptr, &X509_free);
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return Cert(nullptr, &X509_free);
  return cert;
}

bool WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  bool ok = cert ? PEM_write_X509(f, cert) == 1
                 : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  fclose(f);
  return ok;
}

}  // namespace

absl::Status MakeCertificates(const std::string& dir, const std::vector<std::string>& offices,
                              const std::string& p12_password, absl::Time now, int days) {
  Key ca_key = NewKey();
  Cert ca = Issue(now, days, ca_key.get(), "kaigo-sandbox test CA", nullptr, ca_key.get(), 1,
                  {{NID_basic_constraints, "critical,CA:TRUE"},
                   {NID_key_usage, "critical,keyCertSign,cRLSign"},
                   {NID_subject_key_identifier, "hash"}});
  Key server_key = NewKey();
  Cert server = Issue(now, days, server_key.get(), "localhost", ca.get(), ca_key.get(), 2,
                      {{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                       {NID_ext_key_usage, "serverAuth"},
                       {NID_basic_constraints, "CA:FALSE"}});
  if (!ca || !server) return absl::InternalError("cannot issue the CA or server certificate");
  if (!WritePem(dir + "/ca.crt", ca.get(), nullptr) ||
      !WritePem(dir + "/ca.key", nullptr, ca_key.get()) ||
      !WritePem(dir + "/server.crt", server.get(), nullptr) ||
      !WritePem(dir + "/server.key", nullptr, server_key.get())) {
    return absl::InternalError("cannot write certificates into " + dir);
  }
  long serial = 100;
  for (const auto& office : offices) {
    Key key = NewKey();
    Cert cert = Issue(now, days, key.get(), office, ca.get(), ca_key.get(), ++serial,
                      {{NID_ext_key_usage, "clientAuth"}, {NID_basic_constraints, "CA:FALSE"}});
    if (!cert) return absl::InternalError("cannot issue the certificate of office " + office);
    std::string base = dir + "/office-" + office;
    PKCS12* p12 = PKCS12_create(p12_password.c_str(), office.c_str(), key.get(), cert.get(),
                                nullptr, 0, 0, 0, 0, 0);
    FILE* f = fopen((base + ".p12").c_str(), "wb");
    bool ok = p12 != nullptr && f != nullptr && i2d_PKCS12_fp(f, p12) == 1;
    if (f != nullptr) fclose(f);
    PKCS12_free(p12);
    if (!ok || !WritePem(base + ".crt", cert.get(), nullptr) ||
        !WritePem(base + ".key", nullptr, key.get())) {
      return absl::InternalError("cannot write the certificate of office " + office);
    }
  }
  return absl::OkStatus();
}

absl::Status MakeJpkiCertificates(const std::string& dir,
                                  const std::vector<std::string>& common_names, absl::Time now,
                                  int days) {
  Key ca_key = NewRsaKey();
  Cert ca = Issue(now, days, ca_key.get(), "kaigo-sandbox JPKI for user authentication", nullptr,
                  ca_key.get(), 1,
                  {{NID_basic_constraints, "critical,CA:TRUE"},
                   {NID_key_usage, "critical,keyCertSign,cRLSign"},
                   {NID_subject_key_identifier, "hash"}},
                  "JPKI");
  if (!ca || !WritePem(dir + "/jpki-ca.crt", ca.get(), nullptr) ||
      !WritePem(dir + "/jpki-ca.key", nullptr, ca_key.get())) {
    return absl::InternalError("cannot issue the test JPKI CA in " + dir);
  }
  long serial = 1000;
  for (const auto& cn : common_names) {
    Key key = NewRsaKey();
    Cert cert =
        Issue(now, days, key.get(), cn, ca.get(), ca_key.get(), ++serial,
              {{NID_key_usage, "critical,digitalSignature"}, {NID_basic_constraints, "CA:FALSE"}},
              "JPKI");
    std::string base = dir + "/jpki-card-" + cn;
    if (!cert || !WritePem(base + ".crt", cert.get(), nullptr) ||
        !WritePem(base + ".key", nullptr, key.get())) {
      return absl::InternalError("cannot issue the card certificate " + cn);
    }
  }
  return absl::OkStatus();
}

}  // namespace kaigo::sandbox

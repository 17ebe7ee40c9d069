#include "engine/store/audit_chain.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace kaigo::engine {

namespace {

void AppendField(std::string* out, std::string_view value) {
  out->append(std::to_string(value.size())).append(":").append(value).append(";");
}

// The bytes a link covers. The key id is covered only in keyed records: unkeyed ones keep the
// encoding they were written with.
std::string LinkData(const std::string& previous_hash, int64_t sequence, const AuditRecord& r) {
  std::string data;
  AppendField(&data, previous_hash);
  AppendField(&data, absl::StrCat(sequence));
  AppendField(&data, absl::StrCat(r.time_ms));
  for (const std::string* f : {&r.caller, &r.office, &r.plugin, &r.action, &r.subject_ref}) {
    AppendField(&data, *f);
  }
  AppendField(&data, absl::StrCat(r.outcome));
  AppendField(&data, r.detail);
  AppendField(&data, r.request_id);
  // Added later: chained only when present, so records written before it still verify.
  if (!r.user.empty()) AppendField(&data, "user=" + r.user);
  if (!r.key_id.empty()) AppendField(&data, "key=" + r.key_id);
  return data;
}

std::string Hex(const unsigned char* digest, unsigned int size) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
}

}  // namespace

std::string AuditHashUnkeyed(const std::string& previous_hash, int64_t sequence,
                             const AuditRecord& r) {
  std::string data = LinkData(previous_hash, sequence, r);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return Hex(digest, size);
}

absl::StatusOr<std::string> AuditKeyring::Link(const std::string& previous_hash, int64_t sequence,
                                               const AuditRecord& r) const {
  auto key = secrets.find(r.key_id);
  if (r.key_id.empty() || key == secrets.end()) {
    return absl::FailedPreconditionError(
        r.key_id.empty() ? "no audit key is configured (keys.audit)"
                         : "the audit key '" + r.key_id +
                               "' is not configured (keys.audit or keys.audit_retired)");
  }
  std::string data = LinkData(previous_hash, sequence, r);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key->second.data(), static_cast<int>(key->second.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &size);
  return "h1:" + Hex(mac, size);  // h1: HMAC-SHA-256, told apart from an unkeyed SHA-256
}

bool AuditChainVerifier::Broken(std::string problem) {
  result_.ok = false;
  result_.problem = std::move(problem);
  return false;
}

bool AuditChainVerifier::Add(int64_t seq, const AuditRecord& r, const std::string& stored_prev,
                             const std::string& stored_hash) {
  ++result_.records;
  if (seq != expected_seq_) {
    return Broken(absl::StrCat("record ", expected_seq_, " is missing (next is ", seq, ")"));
  }
  if (stored_prev != prev_) {
    return Broken(absl::StrCat("record ", seq, " does not follow record ", seq - 1,
                               " (removed or reordered)"));
  }
  if (r.key_id.empty()) {
    // Unkeyed: only before the first keyed record (the migration's prefix).
    if (result_.keyed > 0) {
      return Broken(absl::StrCat("record ", seq,
                                 " carries no key id after keyed records (rewritten without the "
                                 "audit key)"));
    }
    if (AuditHashUnkeyed(prev_, seq, r) != stored_hash) {
      return Broken(absl::StrCat("record ", seq, " was altered (its hash does not match)"));
    }
    ++result_.unkeyed;
  } else {
    auto link = keys_.Link(prev_, seq, r);
    if (!link.ok()) {
      return Broken(absl::StrCat("record ", seq, " cannot be checked: ", link.status().message()));
    }
    if (*link != stored_hash) {
      return Broken(absl::StrCat("record ", seq, " was altered, or the audit key '", r.key_id,
                                 "' configured is not the one it was written with (its HMAC does "
                                 "not match)"));
    }
    ++result_.keyed;
  }
  prev_ = stored_hash;
  ++expected_seq_;
  return true;
}

absl::StatusOr<AuditVerification> VerifyAudit(Store& store, const AuditKeyring& keys) {
  AuditChainVerifier chain(keys);
  absl::Status read = store.ScanAudit(
      [&](const StoredAuditRecord& s) { return chain.Add(s.seq, s.record, s.prev_hash, s.hash); });
  if (!read.ok()) return read;
  return chain.result();
}

}  // namespace kaigo::engine

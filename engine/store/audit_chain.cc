#include "engine/store/audit_chain.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace kaigo::engine {

namespace {

void AppendField(std::string* out, std::string_view value) {
  out->append(std::to_string(value.size())).append(":").append(value).append(";");
}

}  // namespace

std::string AuditHash(const std::string& previous_hash, int64_t sequence, const AuditRecord& r) {
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
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), size));
}

bool AuditChainVerifier::Add(int64_t seq, const AuditRecord& r, const std::string& stored_prev,
                             const std::string& stored_hash) {
  ++result_.records;
  if (seq != expected_seq_) {
    result_.ok = false;
    result_.problem = absl::StrCat("record ", expected_seq_, " is missing (next is ", seq, ")");
    return false;
  }
  if (stored_prev != prev_) {
    result_.ok = false;
    result_.problem = absl::StrCat("record ", seq, " does not follow record ", seq - 1,
                                   " (removed or reordered)");
    return false;
  }
  if (AuditHash(prev_, seq, r) != stored_hash) {
    result_.ok = false;
    result_.problem = absl::StrCat("record ", seq, " was altered (its hash does not match)");
    return false;
  }
  prev_ = stored_hash;
  ++expected_seq_;
  return true;
}

}  // namespace kaigo::engine

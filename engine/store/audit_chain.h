// The audit log's hash chain, the same for every store backend: each record's link is an
// HMAC-SHA-256, under the engine's audit key (configuration keys.audit, never the database), of
// the previous link, its sequence number, the key's id and its fields (length-prefixed), so a
// record altered, removed or moved breaks the chain from there on, and nobody without the key can
// forge a consistent chain, even with write access to the database. Every record carries the id of
// the key it was linked with; retired keys stay in the keyring so older records still verify.
//
// Migration from the unkeyed chain (before keys): records written then carry no key id and a plain
// SHA-256 link (AuditHashUnkeyed). They are accepted only as the chain's prefix: the first keyed
// record links to the last unkeyed hash, so rewriting any of them breaks that keyed record; an
// unkeyed record after a keyed one is a break. The engine also writes a marker record
// ("audit.keyed") when it first continues an unkeyed chain, so the switch is visible in the log.
//
// Pure; thread-compatible.
#ifndef KAIGO_ENGINE_STORE_AUDIT_CHAIN_H_
#define KAIGO_ENGINE_STORE_AUDIT_CHAIN_H_

#include <cstdint>
#include <string>

#include "engine/store/store.h"

namespace kaigo::engine {

// The link of a record written before the chain was keyed (hex SHA-256).
std::string AuditHashUnkeyed(const std::string& previous_hash, int64_t sequence,
                             const AuditRecord& record);

// Checks stored records fed in sequence order.
class AuditChainVerifier {
 public:
  explicit AuditChainVerifier(const AuditKeyring& keys) : keys_(keys) {}
  // False once the chain is broken (the reason is in result().problem); stop feeding then.
  bool Add(int64_t seq, const AuditRecord& record, const std::string& stored_prev,
           const std::string& stored_hash);
  const AuditVerification& result() const { return result_; }

 private:
  bool Broken(std::string problem);

  const AuditKeyring& keys_;
  AuditVerification result_;
  std::string prev_;
  int64_t expected_seq_ = 1;
};

// Reads the whole log and checks its chain with `keys` (a store opened without keys can be
// checked with them).
absl::StatusOr<AuditVerification> VerifyAudit(Store& store, const AuditKeyring& keys);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_STORE_AUDIT_CHAIN_H_

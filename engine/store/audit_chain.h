// The audit log's hash chain, the same for every store backend: each record's hash covers the
// previous record's hash, its sequence number and its fields (length-prefixed), so a record
// altered, removed or moved breaks the chain from there on. Pure; thread-compatible.
#ifndef KAIGO_ENGINE_STORE_AUDIT_CHAIN_H_
#define KAIGO_ENGINE_STORE_AUDIT_CHAIN_H_

#include <cstdint>
#include <string>

#include "engine/store/store.h"

namespace kaigo::engine {

// Checks stored records fed in sequence order.
class AuditChainVerifier {
 public:
  // False once the chain is broken (the reason is in result().problem); stop feeding then.
  bool Add(int64_t seq, const AuditRecord& record, const std::string& stored_prev,
           const std::string& stored_hash);
  const AuditVerification& result() const { return result_; }

 private:
  AuditVerification result_;
  std::string prev_;
  int64_t expected_seq_ = 1;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_STORE_AUDIT_CHAIN_H_

// The engine's durable state, lent to plugins: a key-value space per (plugin, office) and the
// append-only audit log, hash-chained under the engine's audit key (audit_chain.h). The interface
// allows another backend (PostgreSQL) beside the embedded SQLite one.
//
// Thread-safe: every method may be called from any thread. Calls block on storage I/O; the engine
// never calls them on a gRPC callback thread.
#ifndef KAIGO_ENGINE_STORE_STORE_H_
#define KAIGO_ENGINE_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kaigo::engine {

struct AuditRecord {
  int64_t time_ms = 0;  // Unix milliseconds
  std::string caller;
  std::string office;
  std::string plugin;
  std::string action;
  std::string subject_ref;  // a reference to the recipient, never personal values
  int32_t outcome = 0;      // gRPC status code
  std::string detail;
  std::string request_id;
  std::string user;  // the staff member acting (x-kaigo-user), as the care system attests; or ""
  // The audit key the record is linked with: set by the store when appending (the keyring's
  // signing key), read back when verifying; "" in records from before the chain was keyed.
  std::string key_id;
};

struct AuditVerification {
  int64_t records = 0;
  bool ok = true;
  std::string problem;  // the first record that breaks the chain, and how
  int64_t unkeyed = 0;  // records from before the chain was keyed (the chain's prefix)
  int64_t keyed = 0;
};

struct StoredAuditRecord {
  int64_t seq = 0;
  AuditRecord record;
  std::string prev_hash;
  std::string hash;
};

// The chain's last link: anchor it outside (a log, a ticket) and a later truncation or a rewrite
// from scratch shows.
struct AuditHead {
  int64_t length = 0;  // records; the last one's sequence number
  std::string hash;
  std::string key_id;
};

// The keys a store links and verifies audit records with (engine/store/audit_chain.h).
struct AuditKeyring {
  std::string signing_id;                      // new records; "" refuses every append
  std::map<std::string, std::string> secrets;  // id → secret: the signing key and retired ones

  // The link of `record` (its key_id names the key) after `previous_hash`: "h1:" + hex
  // HMAC-SHA-256; FAILED_PRECONDITION when the keyring lacks that key.
  absl::StatusOr<std::string> Link(const std::string& previous_hash, int64_t sequence,
                                   const AuditRecord& record) const;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual absl::StatusOr<std::string> Get(std::string_view plugin, std::string_view office,
                                          std::string_view key) = 0;
  virtual absl::Status Put(std::string_view plugin, std::string_view office, std::string_view key,
                           std::string_view value) = 0;
  // NOT_FOUND when the key is absent.
  virtual absl::Status Delete(std::string_view plugin, std::string_view office,
                              std::string_view key) = 0;
  // Calls `each` in key order for every key that starts with `prefix`.
  virtual absl::Status List(
      std::string_view plugin, std::string_view office, std::string_view prefix,
      const std::function<void(std::string_view key, std::string_view value)>& each) = 0;

  // Links the record under the keyring the store was opened with (its signing key);
  // FAILED_PRECONDITION without one.
  virtual absl::Status AppendAudit(const AuditRecord& record) = 0;
  // Calls `each` in sequence order until it returns false; `each` must not call the store.
  // VerifyAudit (audit_chain.h) checks the chain over this.
  virtual absl::Status ScanAudit(const std::function<bool(const StoredAuditRecord&)>& each) = 0;
  // length 0 when the log is empty.
  virtual absl::StatusOr<AuditHead> AuditChainHead() = 0;
};

// SQLite in WAL mode at `path` ("" keeps everything in memory). Durable across a process kill:
// a write has reached the database file's journal when the call returns.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       AuditKeyring audit_keys);

// PostgreSQL at `conninfo` (libpq). Applies the schema's versioned migrations at open, under an
// advisory lock, so engines sharing the database may start together; audit appends from all of
// them form one chain. FAILED_PRECONDITION when the database is newer than this engine.
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo,
                                                         AuditKeyring audit_keys);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_STORE_STORE_H_

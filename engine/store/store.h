// The engine's durable state, lent to plugins: a key-value space per (plugin, office) and the
// append-only audit log, hash-chained under the engine's audit key (audit_chain.h). The interface
// allows another backend (PostgreSQL) beside the embedded SQLite one.
//
// Errors: UNAVAILABLE when the storage cannot be reached or did not answer in time (safe to
// retry; a write that failed so may or may not have happened), NOT_FOUND for an absent key.
// A call never waits on an unreachable database past its configured timeouts.
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

// A stored value and its version: a positive number that changes with every write of the key.
struct VersionedValue {
  std::string value;
  int64_t version = 0;
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

  // Compare-and-set (kaigo_host_api.store_put_if). Every write — Put included — gives the key a
  // version never given to it before, from one sequence for the whole store, so a key deleted and
  // written again does not return to an old version.
  virtual absl::StatusOr<VersionedValue> GetVersioned(std::string_view plugin,
                                                      std::string_view office,
                                                      std::string_view key) = 0;
  // Writes `value` only if the key's version is still `expected_version` (0: only if absent), in
  // one atomic step for every engine sharing the store; returns the new version. ABORTED when the
  // key changed, appeared or went away meanwhile.
  virtual absl::StatusOr<int64_t> PutIf(std::string_view plugin, std::string_view office,
                                        std::string_view key, std::string_view value,
                                        int64_t expected_version) = 0;

  // Links the record under the keyring the store was opened with (its signing key);
  // FAILED_PRECONDITION without one.
  virtual absl::Status AppendAudit(const AuditRecord& record) = 0;
  // Calls `each` in sequence order until it returns false; `each` must not call the store.
  // VerifyAudit (audit_chain.h) checks the chain over this.
  virtual absl::Status ScanAudit(const std::function<bool(const StoredAuditRecord&)>& each) = 0;
  // length 0 when the log is empty.
  virtual absl::StatusOr<AuditHead> AuditChainHead() = 0;

  // Calls `each` for every (plugin, office) that holds a value, in order; `each` may use the store.
  // For what goes over every value (engine/store/sealing_store.h: migration and rekey).
  virtual absl::Status ListNamespaces(
      const std::function<void(std::string_view plugin, std::string_view office)>& each) = 0;
  // Rewrites the storage so that values overwritten or deleted leave no copy behind in its files
  // (SQLite: VACUUM and a truncating WAL checkpoint; PostgreSQL: VACUUM FULL of the values'
  // table). Slow on a large store and blocks its writers meanwhile: run after a migration.
  virtual absl::Status Compact() = 0;

  // Whether the storage answers now: a cheap round trip (UNAVAILABLE if not). For readiness; a
  // failed Ping of PostgreSQL also tries to reconnect, whatever the backoff.
  virtual absl::Status Ping() = 0;
};

struct SqliteOptions {
  // PRAGMA synchronous=FULL: the WAL is synced at every commit, so a write a caller was told
  // succeeded survives a power cut. false: NORMAL, which survives a process kill only.
  bool full_sync = true;
};

// SQLite in WAL mode at `path` ("" keeps everything in memory). A write has reached the
// database's journal when the call returns (and the disk, with full_sync). secure_delete is on:
// a page freed or overwritten is zeroed, so an old value does not linger in the file.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       AuditKeyring audit_keys,
                                                       const SqliteOptions& options = {});

struct PostgresOptions {
  std::string conninfo;                   // libpq's connection string
  std::string sslmode;                    // overrides the conninfo's, when set
  std::string ca_file;                    // sslrootcert, when set
  int pool_size = 4;                      // connections kept open
  int connect_timeout_seconds = 5;        // per connection attempt (libpq: at least 2)
  int statement_timeout_seconds = 15;     // per statement, on the server and here
  int max_reconnect_backoff_seconds = 5;  // longest pause between reconnections
};

// PostgreSQL through a pool of `pool_size` connections (libpq). Applies the schema's versioned
// migrations at open, under an advisory lock, so engines sharing the database may start together;
// audit appends from all of them form one chain. FAILED_PRECONDITION when the database is newer
// than this engine; UNAVAILABLE when it cannot be reached at open.
//
// After opening, a lost connection is replaced on the next call. While the database stays
// unreachable, calls fail at once with UNAVAILABLE, and one call at a time tries to reconnect
// after a pause that doubles from 100 ms up to max_reconnect_backoff_seconds (Ping tries at once).
// A statement with no answer after statement_timeout_seconds (+2 s) fails with UNAVAILABLE and
// its connection is dropped.
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options,
                                                         AuditKeyring audit_keys);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_STORE_STORE_H_

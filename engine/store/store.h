// The engine's durable state, lent to plugins: a key-value space per (plugin, office) and the
// append-only, hash-chained audit log. The interface allows another backend (PostgreSQL) beside
// the embedded SQLite one.
//
// Thread-safe: every method may be called from any thread. Calls block on storage I/O; the engine
// never calls them on a gRPC callback thread.
#ifndef KAIGO_ENGINE_STORE_STORE_H_
#define KAIGO_ENGINE_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

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
};

struct AuditVerification {
  int64_t records = 0;
  bool ok = true;
  std::string problem;  // the first record that breaks the chain, and how
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

  virtual absl::Status AppendAudit(const AuditRecord& record) = 0;
  virtual absl::StatusOr<AuditVerification> VerifyAudit() = 0;
};

// SQLite in WAL mode at `path` ("" keeps everything in memory). Durable across a process kill:
// a write has reached the database file's journal when the call returns.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// PostgreSQL at `conninfo` (libpq). Applies the schema's versioned migrations at open, under an
// advisory lock, so engines sharing the database may start together; audit appends from all of
// them form one chain. FAILED_PRECONDITION when the database is newer than this engine.
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo);

// The chain link of `record` after `previous_hash` (hex SHA-256 of a length-prefixed encoding).
std::string AuditHash(const std::string& previous_hash, int64_t sequence,
                      const AuditRecord& record);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_STORE_STORE_H_

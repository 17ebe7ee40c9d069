#include <openssl/evp.h>
#include <sqlite3.h>

#include <mutex>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/store/audit_chain.h"
#include "engine/store/store.h"

namespace kaigo::engine {

namespace {

constexpr int kSchemaVersion = 1;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS plugin_kv (
  plugin TEXT NOT NULL, office TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
  version INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (plugin, office, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_clock (v INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit_log (
  seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, caller TEXT NOT NULL, office TEXT NOT NULL,
  plugin TEXT NOT NULL, action TEXT NOT NULL, subject_ref TEXT NOT NULL, outcome INTEGER NOT NULL,
  detail TEXT NOT NULL, request_id TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
  acting_user TEXT NOT NULL DEFAULT '', key_id TEXT NOT NULL DEFAULT '');
)sql";

// A prepared statement, reset after each use.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindText(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string_view Column(int i) {
    const void* data = sqlite3_column_blob(stmt_, i);
    int size = sqlite3_column_bytes(stmt_, i);
    return data == nullptr ? std::string_view()
                           : std::string_view(static_cast<const char*>(data), size);
  }
  int64_t ColumnInt(int i) { return sqlite3_column_int64(stmt_, i); }
  bool ok() const { return stmt_ != nullptr; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteStore : public Store {
 public:
  SqliteStore(sqlite3* db, AuditKeyring audit_keys)
      : db_(db),
        audit_keys_(std::move(audit_keys)),
        get_(db, "SELECT value FROM plugin_kv WHERE plugin=?1 AND office=?2 AND key=?3"),
        put_(db,
             "INSERT INTO plugin_kv(plugin,office,key,value,version) VALUES(?1,?2,?3,?4,?5) "
             "ON CONFLICT(plugin,office,key) DO UPDATE SET value=excluded.value, "
             "version=excluded.version"),
        get_versioned_(db,
                       "SELECT value, version FROM plugin_kv WHERE plugin=?1 AND office=?2 AND "
                       "key=?3"),
        insert_new_(db,
                    "INSERT INTO plugin_kv(plugin,office,key,value,version) "
                    "VALUES(?1,?2,?3,?4,?5) ON CONFLICT(plugin,office,key) DO NOTHING"),
        update_if_(db,
                   "UPDATE plugin_kv SET value=?4, version=?5 WHERE plugin=?1 AND office=?2 AND "
                   "key=?3 AND version=?6"),
        tick_(db, "UPDATE kv_clock SET v = v + 1 RETURNING v"),
        delete_(db, "DELETE FROM plugin_kv WHERE plugin=?1 AND office=?2 AND key=?3"),
        list_(db,
              "SELECT key, value FROM plugin_kv WHERE plugin=?1 AND office=?2 AND key>=?3 "
              "ORDER BY key"),
        last_audit_(db, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"),
        append_audit_(db,
                      "INSERT INTO audit_log(seq,time_ms,caller,office,plugin,action,subject_ref,"
                      "outcome,detail,request_id,prev_hash,hash,acting_user,key_id) "
                      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)") {}
  // close_v2 defers the close until the member statements are finalized.
  ~SqliteStore() override { sqlite3_close_v2(db_); }

  absl::Status Init() {
    for (Statement* s : {&get_, &put_, &get_versioned_, &insert_new_, &update_if_, &tick_, &delete_,
                         &list_, &last_audit_, &append_audit_}) {
      if (!s->ok()) return Error("prepare");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Get(std::string_view plugin, std::string_view office,
                                  std::string_view key) override {
    std::lock_guard<std::mutex> lock(mu_);
    get_.BindText(1, plugin).BindText(2, office).BindText(3, key);
    int rc = get_.Step();
    absl::StatusOr<std::string> result = absl::NotFoundError("no such key");
    if (rc == SQLITE_ROW) {
      result = std::string(get_.Column(0));
    } else if (rc != SQLITE_DONE) {
      result = Error("get");
    }
    get_.Reset();
    return result;
  }

  absl::Status Put(std::string_view plugin, std::string_view office, std::string_view key,
                   std::string_view value) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Versioned("put",
                     [&](int64_t version) {
                       put_.BindText(1, plugin).BindText(2, office).BindText(3, key).Bind(4, value);
                       put_.Bind(5, version);
                       int rc = put_.Step();
                       put_.Reset();
                       return rc;
                     })
        .status();
  }

  absl::StatusOr<VersionedValue> GetVersioned(std::string_view plugin, std::string_view office,
                                              std::string_view key) override {
    std::lock_guard<std::mutex> lock(mu_);
    get_versioned_.BindText(1, plugin).BindText(2, office).BindText(3, key);
    int rc = get_versioned_.Step();
    absl::StatusOr<VersionedValue> result = absl::NotFoundError("no such key");
    if (rc == SQLITE_ROW) {
      result = VersionedValue{std::string(get_versioned_.Column(0)), get_versioned_.ColumnInt(1)};
    } else if (rc != SQLITE_DONE) {
      result = Error("get");
    }
    get_versioned_.Reset();
    return result;
  }

  absl::StatusOr<int64_t> PutIf(std::string_view plugin, std::string_view office,
                                std::string_view key, std::string_view value,
                                int64_t expected_version) override {
    std::lock_guard<std::mutex> lock(mu_);
    Statement& write = expected_version == 0 ? insert_new_ : update_if_;
    return Versioned("put", [&](int64_t version) {
      write.BindText(1, plugin).BindText(2, office).BindText(3, key).Bind(4, value);
      write.Bind(5, version);
      if (expected_version != 0) write.Bind(6, expected_version);
      int rc = write.Step();
      write.Reset();
      return rc == SQLITE_DONE && sqlite3_changes(db_) == 0 ? kUnchanged : rc;
    });
  }

  absl::Status Delete(std::string_view plugin, std::string_view office,
                      std::string_view key) override {
    std::lock_guard<std::mutex> lock(mu_);
    delete_.BindText(1, plugin).BindText(2, office).BindText(3, key);
    int rc = delete_.Step();
    delete_.Reset();
    if (rc != SQLITE_DONE) return Error("delete");
    return sqlite3_changes(db_) > 0 ? absl::OkStatus() : absl::NotFoundError("no such key");
  }

  absl::Status List(std::string_view plugin, std::string_view office, std::string_view prefix,
                    const std::function<void(std::string_view, std::string_view)>& each) override {
    std::vector<std::pair<std::string, std::string>> rows;
    {
      std::lock_guard<std::mutex> lock(mu_);
      list_.BindText(1, plugin).BindText(2, office).BindText(3, prefix);
      int rc;
      while ((rc = list_.Step()) == SQLITE_ROW) {
        std::string_view key = list_.Column(0);
        if (key.substr(0, prefix.size()) != prefix) break;
        rows.emplace_back(key, list_.Column(1));
      }
      list_.Reset();
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error("list");
    }
    for (const auto& [k, v] : rows) each(k, v);  // outside the lock: `each` may use the store
    return absl::OkStatus();
  }

  absl::Status AppendAudit(const AuditRecord& record) override {
    AuditRecord r = record;
    r.key_id = audit_keys_.signing_id;
    std::lock_guard<std::mutex> lock(mu_);
    // seq and the previous hash are read and the record written in one transaction, so two
    // writers (threads, or later processes) can never fork the chain.
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Error("audit begin");
    }
    int64_t seq = 1;
    std::string prev;
    if (last_audit_.Step() == SQLITE_ROW) {
      seq = last_audit_.ColumnInt(0) + 1;
      prev = std::string(last_audit_.Column(1));
    }
    last_audit_.Reset();
    absl::StatusOr<std::string> hash = audit_keys_.Link(prev, seq, r);
    if (!hash.ok()) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return hash.status();
    }
    append_audit_.Bind(1, seq).Bind(2, r.time_ms).BindText(3, r.caller).BindText(4, r.office);
    append_audit_.BindText(5, r.plugin).BindText(6, r.action).BindText(7, r.subject_ref);
    append_audit_.Bind(8, static_cast<int64_t>(r.outcome)).BindText(9, r.detail);
    append_audit_.BindText(10, r.request_id).BindText(11, prev).BindText(12, *hash);
    append_audit_.BindText(13, r.user).BindText(14, r.key_id);
    int rc = append_audit_.Step();
    append_audit_.Reset();
    if (rc != SQLITE_DONE) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return Error("audit append");
    }
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Error("audit commit");
    }
    return absl::OkStatus();
  }

  absl::Status ScanAudit(const std::function<bool(const StoredAuditRecord&)>& each) override {
    std::lock_guard<std::mutex> lock(mu_);
    Statement all(db_,
                  "SELECT seq,time_ms,caller,office,plugin,action,subject_ref,outcome,detail,"
                  "request_id,prev_hash,hash,acting_user,key_id FROM audit_log ORDER BY seq");
    if (!all.ok()) return Error("audit read");
    int rc;
    while ((rc = all.Step()) == SQLITE_ROW) {
      StoredAuditRecord s;
      AuditRecord& r = s.record;
      s.seq = all.ColumnInt(0);
      r.time_ms = all.ColumnInt(1);
      r.caller = std::string(all.Column(2));
      r.office = std::string(all.Column(3));
      r.plugin = std::string(all.Column(4));
      r.action = std::string(all.Column(5));
      r.subject_ref = std::string(all.Column(6));
      r.outcome = static_cast<int32_t>(all.ColumnInt(7));
      r.detail = std::string(all.Column(8));
      r.request_id = std::string(all.Column(9));
      s.prev_hash = std::string(all.Column(10));
      s.hash = std::string(all.Column(11));
      r.user = std::string(all.Column(12));
      r.key_id = std::string(all.Column(13));
      if (!each(s)) return absl::OkStatus();
    }
    return rc == SQLITE_DONE ? absl::OkStatus() : Error("audit read");
  }

  absl::StatusOr<AuditHead> AuditChainHead() override {
    std::lock_guard<std::mutex> lock(mu_);
    Statement head(db_, "SELECT seq, hash, key_id FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (!head.ok()) return Error("audit head");
    AuditHead result;
    int rc = head.Step();
    if (rc == SQLITE_ROW) {
      result.length = head.ColumnInt(0);
      result.hash = std::string(head.Column(1));
      result.key_id = std::string(head.Column(2));
    } else if (rc != SQLITE_DONE) {
      return Error("audit head");
    }
    return result;
  }

  absl::Status ListNamespaces(
      const std::function<void(std::string_view, std::string_view)>& each) override {
    std::vector<std::pair<std::string, std::string>> rows;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Statement all(db_, "SELECT DISTINCT plugin, office FROM plugin_kv ORDER BY plugin, office");
      if (!all.ok()) return Error("list");
      int rc;
      while ((rc = all.Step()) == SQLITE_ROW) rows.emplace_back(all.Column(0), all.Column(1));
      if (rc != SQLITE_DONE) return Error("list");
    }
    for (const auto& [plugin, office] : rows) each(plugin, office);
    return absl::OkStatus();
  }

  absl::Status Compact() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (sqlite3_exec(db_, "VACUUM", nullptr, nullptr, nullptr) != SQLITE_OK) return Error("vacuum");
    if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr) !=
        SQLITE_OK) {
      return Error("checkpoint");
    }
    return absl::OkStatus();
  }

  absl::Status Ping() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (sqlite3_exec(db_, "SELECT 1", nullptr, nullptr, nullptr) != SQLITE_OK) return Error("ping");
    return absl::OkStatus();
  }

 private:
  absl::Status Error(std::string_view what) {
    return absl::UnavailableError("store " + std::string(what) + ": " + sqlite3_errmsg(db_));
  }

  // What a conditional write returns when its condition held no longer.
  static constexpr int kUnchanged = -1;

  // Runs `write` (returning SQLite's result code, or kUnchanged) with the store's next version,
  // taken and used in one transaction. Holds mu_.
  absl::StatusOr<int64_t> Versioned(std::string_view what,
                                    const std::function<int(int64_t version)>& write) {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Error(what);
    }
    int64_t version = 0;
    if (tick_.Step() == SQLITE_ROW) version = tick_.ColumnInt(0);
    tick_.Reset();
    int rc = version > 0 ? write(version) : SQLITE_ERROR;
    if (rc != SQLITE_DONE) {
      absl::Status error =
          rc == kUnchanged ? absl::AbortedError("the key changed since it was read") : Error(what);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return error;
    }
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return Error(what);
    return version;
  }

  sqlite3* db_;
  const AuditKeyring audit_keys_;
  std::mutex mu_;
  Statement get_, put_, get_versioned_, insert_new_, update_if_, tick_, delete_, list_, last_audit_,
      append_audit_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       AuditKeyring audit_keys,
                                                       const SqliteOptions& options) {
  sqlite3* db = nullptr;
  std::string target = path.empty() ? ":memory:" : path;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(target.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError("cannot open store " + target + ": " + message);
  }
  sqlite3_busy_timeout(db, 5000);
  // FULL syncs the WAL at every commit (power-loss safe); NORMAL only at checkpoints.
  const char* pragmas =
      options.full_sync
          ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
            "PRAGMA secure_delete=ON;"
          : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA secure_delete=ON;";
  char* err = nullptr;
  if (sqlite3_exec(db, pragmas, nullptr, nullptr, &err) != SQLITE_OK ||
      sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "unknown";
    sqlite3_free(err);
    sqlite3_close(db);
    return absl::UnavailableError("cannot prepare store " + target + ": " + message);
  }
  // Stores made before the acting user was recorded get its column (empty in their records).
  sqlite3_exec(db, "ALTER TABLE audit_log ADD COLUMN acting_user TEXT NOT NULL DEFAULT ''", nullptr,
               nullptr, nullptr);
  // And before the chain was keyed, the key id (empty in their records: see audit_chain.h).
  sqlite3_exec(db, "ALTER TABLE audit_log ADD COLUMN key_id TEXT NOT NULL DEFAULT ''", nullptr,
               nullptr, nullptr);
  // Stores made before compare-and-set get versions: 1 for every value there, later writes above.
  sqlite3_exec(db, "ALTER TABLE plugin_kv ADD COLUMN version INTEGER NOT NULL DEFAULT 1", nullptr,
               nullptr, nullptr);
  sqlite3_exec(db, "INSERT INTO kv_clock(v) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kv_clock)",
               nullptr, nullptr, nullptr);
  std::string version_sql =
      absl::StrCat("INSERT INTO schema_version(version) SELECT ", kSchemaVersion,
                   " WHERE NOT EXISTS (SELECT 1 FROM schema_version)");
  sqlite3_exec(db, version_sql.c_str(), nullptr, nullptr, nullptr);
  auto store = std::make_unique<SqliteStore>(db, std::move(audit_keys));
  if (absl::Status s = store->Init(); !s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace kaigo::engine

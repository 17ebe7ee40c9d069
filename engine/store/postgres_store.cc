#include <libpq-fe.h>

#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/store/audit_chain.h"
#include "engine/store/store.h"

namespace kaigo::engine {

namespace {

// Versioned migrations, applied in order at open under an advisory lock (so replicas starting
// together apply each once). Append only: a released migration is never edited.
const char* const kMigrations[] = {
    // 1: the key-value space and the audit log.
    R"sql(
CREATE TABLE plugin_kv (plugin TEXT NOT NULL, office TEXT NOT NULL, key TEXT COLLATE "C" NOT NULL,
  value BYTEA NOT NULL, PRIMARY KEY (plugin, office, key));
CREATE TABLE audit_log (seq BIGINT PRIMARY KEY, time_ms BIGINT NOT NULL, caller TEXT NOT NULL,
  office TEXT NOT NULL, plugin TEXT NOT NULL, action TEXT NOT NULL, subject_ref TEXT NOT NULL,
  outcome INTEGER NOT NULL, detail TEXT NOT NULL, request_id TEXT NOT NULL,
  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
)sql",
    // 2: the staff member acting (x-kaigo-user), as the care system attests it.
    R"sql(
ALTER TABLE audit_log ADD COLUMN acting_user TEXT NOT NULL DEFAULT '';
)sql",
    // 3: a version per value for compare-and-set, from one sequence; every update takes the next.
    R"sql(
CREATE SEQUENCE plugin_kv_version;
ALTER TABLE plugin_kv ADD COLUMN version BIGINT NOT NULL DEFAULT nextval('plugin_kv_version');
CREATE FUNCTION plugin_kv_next_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.version := nextval('plugin_kv_version'); RETURN NEW; END $$;
CREATE TRIGGER plugin_kv_version BEFORE UPDATE ON plugin_kv FOR EACH ROW
  EXECUTE FUNCTION plugin_kv_next_version();
)sql",
};

// Any number; the same in every engine sharing the database.
constexpr char kMigrationLock[] = "SELECT pg_advisory_xact_lock(7243100001)";
constexpr char kAuditLock[] = "SELECT pg_advisory_xact_lock(7243100002)";

// A result, cleared on scope exit.
class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  bool ok() const {
    auto s = PQresultStatus(r_);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  }
  int rows() const { return PQntuples(r_); }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), PQgetlength(r_, row, col));
  }
  int64_t Int(int row, int col) const { return std::stoll(Text(row, col)); }
  const char* affected() const { return PQcmdTuples(r_); }

 private:
  PGresult* r_;
};

class PostgresStore : public Store {
 public:
  explicit PostgresStore(PGconn* conn) : conn_(conn) {}
  ~PostgresStore() override { PQfinish(conn_); }

  absl::Status Migrate() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Exec("BEGIN").ok() || !Exec(kMigrationLock).ok() ||
        !Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
              "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
             .ok()) {
      Exec("ROLLBACK");
      return Error("migrations");
    }
    Result current(PQexec(conn_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    if (!current.ok()) {
      Exec("ROLLBACK");
      return Error("migrations");
    }
    int64_t have = current.Int(0, 0);
    int64_t known = sizeof kMigrations / sizeof kMigrations[0];
    if (have > known) {
      Exec("ROLLBACK");
      return absl::FailedPreconditionError(absl::StrCat("store: the database is at schema version ",
                                                        have, ", newer than this engine's ", known,
                                                        "; upgrade the engine"));
    }
    for (int64_t v = have + 1; v <= known; ++v) {
      if (!Exec(kMigrations[v - 1]).ok() ||
          !Exec(absl::StrCat("INSERT INTO schema_migrations(version) VALUES (", v, ")")).ok()) {
        std::string why = PQerrorMessage(conn_);
        Exec("ROLLBACK");
        return absl::UnavailableError(absl::StrCat("store: migration ", v, " failed: ", why));
      }
    }
    if (!Exec("COMMIT").ok()) return Error("migrations commit");
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Get(std::string_view plugin, std::string_view office,
                                  std::string_view key) override {
    std::lock_guard<std::mutex> lock(mu_);
    Result r(Params("SELECT value FROM plugin_kv WHERE plugin = $1 AND office = $2 AND key = $3",
                    {plugin, office, key}));
    if (!r.ok()) return Error("get");
    if (r.rows() == 0) return absl::NotFoundError("no such key");
    return r.Text(0, 0);
  }

  absl::Status Put(std::string_view plugin, std::string_view office, std::string_view key,
                   std::string_view value) override {
    std::lock_guard<std::mutex> lock(mu_);
    Result r(
        Params("INSERT INTO plugin_kv VALUES ($1, $2, $3, $4) ON CONFLICT (plugin, office, "
               "key) DO UPDATE SET value = EXCLUDED.value",
               {plugin, office, key, value}));
    return r.ok() ? absl::OkStatus() : Error("put");
  }

  absl::Status Delete(std::string_view plugin, std::string_view office,
                      std::string_view key) override {
    std::lock_guard<std::mutex> lock(mu_);
    Result r(Params("DELETE FROM plugin_kv WHERE plugin = $1 AND office = $2 AND key = $3",
                    {plugin, office, key}));
    if (!r.ok()) return Error("delete");
    if (std::string(r.affected()) == "0") return absl::NotFoundError("no such key");
    return absl::OkStatus();
  }

  absl::Status List(
      std::string_view plugin, std::string_view office, std::string_view prefix,
      const std::function<void(std::string_view key, std::string_view value)>& each) override {
    std::vector<std::pair<std::string, std::string>> rows;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Result r(
          Params("SELECT key, value FROM plugin_kv WHERE plugin = $1 AND office = $2 AND "
                 "substr(key, 1, length($3)) = $3 ORDER BY key",
                 {plugin, office, prefix}));
      if (!r.ok()) return Error("list");
      for (int i = 0; i < r.rows(); ++i) rows.push_back({r.Text(i, 0), r.Text(i, 1)});
    }
    for (const auto& [k, v] : rows) each(k, v);  // outside the lock: `each` may call back
    return absl::OkStatus();
  }

  // Versions travel as text: the other columns are binary, and a bigint's binary form is not
  // worth a decoder here.
  absl::StatusOr<VersionedValue> GetVersioned(std::string_view plugin, std::string_view office,
                                              std::string_view key) override {
    std::lock_guard<std::mutex> lock(mu_);
    Result r(Params(
        "SELECT value, version::text FROM plugin_kv WHERE plugin = $1 AND office = $2 AND key = $3",
        {plugin, office, key}));
    if (!r.ok()) return Error("get");
    if (r.rows() == 0) return absl::NotFoundError("no such key");
    return VersionedValue{r.Text(0, 0), r.Int(0, 1)};
  }

  // One statement each: a concurrent writer of the row waits for this one, then finds the
  // version changed (or the key present) and writes nothing.
  absl::StatusOr<int64_t> PutIf(std::string_view plugin, std::string_view office,
                                std::string_view key, std::string_view value,
                                int64_t expected_version) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string expected = absl::StrCat(expected_version);
    Result r(
        expected_version == 0
            ? Params("INSERT INTO plugin_kv(plugin, office, key, value) VALUES ($1, $2, $3, "
                     "$4) ON CONFLICT (plugin, office, key) DO NOTHING RETURNING version::text",
                     {plugin, office, key, value})
            : Params("UPDATE plugin_kv SET value = $4 WHERE plugin = $1 AND office = $2 AND "
                     "key = $3 AND version = $5::text::bigint RETURNING version::text",
                     {plugin, office, key, value, expected}));
    if (!r.ok()) return Error("put");
    if (r.rows() == 0) return absl::AbortedError("the key changed since it was read");
    return r.Int(0, 0);
  }

  absl::Status AppendAudit(const AuditRecord& a) override {
    std::lock_guard<std::mutex> lock(mu_);
    // The advisory lock makes reading the chain's head and writing the next link one step for
    // every engine sharing the database: the chain never forks.
    if (!Exec("BEGIN").ok() || !Exec(kAuditLock).ok()) {
      Exec("ROLLBACK");
      return Error("audit begin");
    }
    Result head(PQexec(conn_, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
    if (!head.ok()) {
      Exec("ROLLBACK");
      return Error("audit head");
    }
    int64_t seq = head.rows() ? head.Int(0, 0) + 1 : 1;
    std::string prev = head.rows() ? head.Text(0, 1) : "";
    std::string hash = AuditHash(prev, seq, a);
    std::string seq_text = absl::StrCat(seq), time = absl::StrCat(a.time_ms),
                outcome = absl::StrCat(a.outcome);
    Result insert(
        Params("INSERT INTO audit_log(seq, time_ms, caller, office, plugin, action, subject_ref, "
               "outcome, detail, request_id, prev_hash, hash, acting_user) VALUES ($1, $2, $3, "
               "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
               {seq_text, time, a.caller, a.office, a.plugin, a.action, a.subject_ref, outcome,
                a.detail, a.request_id, prev, hash, a.user},
               /*binary=*/false));
    if (!insert.ok()) {
      Exec("ROLLBACK");
      return Error("audit append");
    }
    if (!Exec("COMMIT").ok()) return Error("audit commit");
    return absl::OkStatus();
  }

  absl::StatusOr<AuditVerification> VerifyAudit() override {
    std::lock_guard<std::mutex> lock(mu_);
    Result all(PQexec(conn_,
                      "SELECT seq, time_ms, caller, office, plugin, action, subject_ref, outcome, "
                      "detail, request_id, prev_hash, hash, acting_user FROM audit_log ORDER BY "
                      "seq"));
    if (!all.ok()) return Error("audit read");
    AuditChainVerifier chain;
    for (int i = 0; i < all.rows(); ++i) {
      AuditRecord r;
      r.time_ms = all.Int(i, 1);
      r.caller = all.Text(i, 2);
      r.office = all.Text(i, 3);
      r.plugin = all.Text(i, 4);
      r.action = all.Text(i, 5);
      r.subject_ref = all.Text(i, 6);
      r.outcome = static_cast<int32_t>(all.Int(i, 7));
      r.detail = all.Text(i, 8);
      r.request_id = all.Text(i, 9);
      r.user = all.Text(i, 12);
      if (!chain.Add(all.Int(i, 0), r, all.Text(i, 10), all.Text(i, 11))) break;
    }
    return chain.result();
  }

 private:
  Result Exec(const std::string& sql) { return Result(PQexec(conn_, sql.c_str())); }

  // Parameters as given; in binary form when `binary` (so bytea values keep every byte). Text
  // columns are compared as the bytes sent.
  PGresult* Params(const char* sql, const std::vector<std::string_view>& values,
                   bool binary = true) {
    std::vector<const char*> data;
    std::vector<int> lengths, formats;
    for (auto v : values) {
      data.push_back(v.data());
      lengths.push_back(static_cast<int>(v.size()));
      formats.push_back(binary ? 1 : 0);
    }
    std::vector<std::string> copies;  // text format needs NUL-terminated values
    if (!binary) {
      copies.assign(values.begin(), values.end());
      for (size_t i = 0; i < copies.size(); ++i) data[i] = copies[i].c_str();
    }
    return PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr, data.data(),
                        lengths.data(), formats.data(), /*resultFormat=*/binary ? 1 : 0);
  }

  absl::Status Error(std::string_view what) {
    return absl::UnavailableError("store " + std::string(what) + ": " + PQerrorMessage(conn_));
  }

  PGconn* conn_;
  std::mutex mu_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    return absl::UnavailableError("cannot connect to PostgreSQL: " + why);
  }
  // The server's NOTICEs ("already exists, skipping") are not for the operator's terminal.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  auto store = std::make_unique<PostgresStore>(conn);
  if (auto s = store->Migrate(); !s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace kaigo::engine

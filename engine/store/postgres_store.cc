#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
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
    // 3: the audit key each record is linked with ('' before the chain was keyed: audit_chain.h).
    R"sql(
ALTER TABLE audit_log ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
)sql",
    // 4: a version per value for compare-and-set, from one sequence; every update takes the next.
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
  Result(Result&& other) noexcept : r_(std::exchange(other.r_, nullptr)) {}
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  Result& operator=(Result&& other) noexcept {
    std::swap(r_, other.r_);
    return *this;
  }
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
  std::string error() const { return PQresultErrorMessage(r_); }

 private:
  PGresult* r_;
};

class PostgresStore;

// One pooled connection, held for one call (or one transaction) and given back on scope exit.
class Lease {
 public:
  Lease(PostgresStore* store, PGconn* conn) : store_(store), conn_(conn) {}
  Lease(Lease&& other) noexcept
      : store_(other.store_), conn_(std::exchange(other.conn_, nullptr)), broken_(other.broken_) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Lease& operator=(Lease&&) = delete;
  ~Lease();

  // `sql` with `values` as parameters: in binary form when `binary` (so bytea values keep every
  // byte), results in the same form. Text columns are compared as the bytes sent. Without values,
  // `sql` may hold several statements. UNAVAILABLE when the statement failed, the connection was
  // lost, or no answer came in time (the connection is then dropped).
  absl::StatusOr<Result> Run(const std::string& sql, const std::vector<std::string_view>& values,
                             bool binary = true);
  absl::StatusOr<Result> Run(const std::string& sql) { return Run(sql, {}, false); }
  // Rolls back an open transaction; the connection is dropped if that fails.
  void Rollback() { (void)Run("ROLLBACK"); }
  // The connection, no longer leased.
  PGconn* Detach() { return std::exchange(conn_, nullptr); }

 private:
  PostgresStore* store_;
  PGconn* conn_;
  bool broken_ = false;  // a statement went unanswered: the connection is not to be reused
};

class PostgresStore : public Store {
 public:
  PostgresStore(PostgresOptions options, AuditKeyring audit_keys)
      : options_(std::move(options)), audit_keys_(std::move(audit_keys)) {}
  ~PostgresStore() override {
    for (PGconn* c : idle_) PQfinish(c);
  }

  absl::Status Migrate() {
    auto c = Acquire(/*probe=*/true);
    if (!c.ok()) return c.status();
    absl::Status s = MigrateOn(*c);
    if (!s.ok()) c->Rollback();
    return s;
  }

  absl::StatusOr<std::string> Get(std::string_view plugin, std::string_view office,
                                  std::string_view key) override {
    auto c = Acquire();
    if (!c.ok()) return c.status();
    auto r = c->Run("SELECT value FROM plugin_kv WHERE plugin = $1 AND office = $2 AND key = $3",
                    {plugin, office, key});
    if (!r.ok()) return Failed("get", r.status());
    if (r->rows() == 0) return absl::NotFoundError("no such key");
    return r->Text(0, 0);
  }

  absl::Status Put(std::string_view plugin, std::string_view office, std::string_view key,
                   std::string_view value) override {
    auto c = Acquire();
    if (!c.ok()) return c.status();
    auto r = c->Run(
        "INSERT INTO plugin_kv VALUES ($1, $2, $3, $4) ON CONFLICT (plugin, office, key) DO "
        "UPDATE SET value = EXCLUDED.value",
        {plugin, office, key, value});
    return r.ok() ? absl::OkStatus() : Failed("put", r.status());
  }

  absl::Status Delete(std::string_view plugin, std::string_view office,
                      std::string_view key) override {
    auto c = Acquire();
    if (!c.ok()) return c.status();
    auto r = c->Run("DELETE FROM plugin_kv WHERE plugin = $1 AND office = $2 AND key = $3",
                    {plugin, office, key});
    if (!r.ok()) return Failed("delete", r.status());
    if (std::string(r->affected()) == "0") return absl::NotFoundError("no such key");
    return absl::OkStatus();
  }

  absl::Status List(
      std::string_view plugin, std::string_view office, std::string_view prefix,
      const std::function<void(std::string_view key, std::string_view value)>& each) override {
    std::vector<std::pair<std::string, std::string>> rows;
    {
      auto c = Acquire();
      if (!c.ok()) return c.status();
      auto r = c->Run(
          "SELECT key, value FROM plugin_kv WHERE plugin = $1 AND office = $2 AND "
          "substr(key, 1, length($3)) = $3 ORDER BY key",
          {plugin, office, prefix});
      if (!r.ok()) return Failed("list", r.status());
      for (int i = 0; i < r->rows(); ++i) rows.push_back({r->Text(i, 0), r->Text(i, 1)});
    }
    // The connection is back in the pool: `each` may call the store.
    for (const auto& [k, v] : rows) each(k, v);
    return absl::OkStatus();
  }

  // Versions travel as text: the other columns are binary, and a bigint's binary form is not
  // worth a decoder here.
  absl::StatusOr<VersionedValue> GetVersioned(std::string_view plugin, std::string_view office,
                                              std::string_view key) override {
    auto c = Acquire();
    if (!c.ok()) return c.status();
    auto r = c->Run(
        "SELECT value, version::text FROM plugin_kv WHERE plugin = $1 AND office = $2 AND key = $3",
        {plugin, office, key});
    if (!r.ok()) return Failed("get", r.status());
    if (r->rows() == 0) return absl::NotFoundError("no such key");
    return VersionedValue{r->Text(0, 0), r->Int(0, 1)};
  }

  // One statement each: a concurrent writer of the row waits for this one, then finds the
  // version changed (or the key present) and writes nothing.
  absl::StatusOr<int64_t> PutIf(std::string_view plugin, std::string_view office,
                                std::string_view key, std::string_view value,
                                int64_t expected_version) override {
    auto c = Acquire();
    if (!c.ok()) return c.status();
    std::string expected = absl::StrCat(expected_version);
    auto r = expected_version == 0
                 ? c->Run(
                       "INSERT INTO plugin_kv(plugin, office, key, value) VALUES ($1, $2, $3, "
                       "$4) ON CONFLICT (plugin, office, key) DO NOTHING RETURNING version::text",
                       {plugin, office, key, value})
                 : c->Run(
                       "UPDATE plugin_kv SET value = $4 WHERE plugin = $1 AND office = $2 AND "
                       "key = $3 AND version = $5::text::bigint RETURNING version::text",
                       {plugin, office, key, value, expected});
    if (!r.ok()) return Failed("put", r.status());
    if (r->rows() == 0) return absl::AbortedError("the key changed since it was read");
    return r->Int(0, 0);
  }

  absl::Status AppendAudit(const AuditRecord& record) override {
    AuditRecord a = record;
    a.key_id = audit_keys_.signing_id;
    auto c = Acquire();
    if (!c.ok()) return c.status();
    absl::Status s = AppendAuditOn(*c, a);
    if (!s.ok()) c->Rollback();
    return s;
  }

  absl::Status ScanAudit(const std::function<bool(const StoredAuditRecord&)>& each) override {
    std::vector<StoredAuditRecord> records;
    {
      auto c = Acquire();
      if (!c.ok()) return c.status();
      auto all = c->Run(
          "SELECT seq, time_ms, caller, office, plugin, action, subject_ref, outcome, detail, "
          "request_id, prev_hash, hash, acting_user, key_id FROM audit_log ORDER BY seq");
      if (!all.ok()) return Failed("audit read", all.status());
      records.reserve(all->rows());
      for (int i = 0; i < all->rows(); ++i) {
        StoredAuditRecord s;
        AuditRecord& r = s.record;
        s.seq = all->Int(i, 0);
        r.time_ms = all->Int(i, 1);
        r.caller = all->Text(i, 2);
        r.office = all->Text(i, 3);
        r.plugin = all->Text(i, 4);
        r.action = all->Text(i, 5);
        r.subject_ref = all->Text(i, 6);
        r.outcome = static_cast<int32_t>(all->Int(i, 7));
        r.detail = all->Text(i, 8);
        r.request_id = all->Text(i, 9);
        s.prev_hash = all->Text(i, 10);
        s.hash = all->Text(i, 11);
        r.user = all->Text(i, 12);
        r.key_id = all->Text(i, 13);
        records.push_back(std::move(s));
      }
    }
    // The connection is back in the pool before `each` runs.
    for (const auto& record : records) {
      if (!each(record)) break;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<AuditHead> AuditChainHead() override {
    auto c = Acquire();
    if (!c.ok()) return c.status();
    auto head = c->Run("SELECT seq, hash, key_id FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (!head.ok()) return Failed("audit head", head.status());
    AuditHead result;
    if (head->rows() > 0) {
      result.length = head->Int(0, 0);
      result.hash = head->Text(0, 1);
      result.key_id = head->Text(0, 2);
    }
    return result;
  }

  absl::Status ListNamespaces(
      const std::function<void(std::string_view, std::string_view)>& each) override {
    std::vector<std::pair<std::string, std::string>> rows;
    {
      auto c = Acquire();
      if (!c.ok()) return c.status();
      auto r = c->Run("SELECT DISTINCT plugin, office FROM plugin_kv ORDER BY plugin, office");
      if (!r.ok()) return Failed("list", r.status());
      for (int i = 0; i < r->rows(); ++i) rows.push_back({r->Text(i, 0), r->Text(i, 1)});
    }
    for (const auto& [plugin, office] : rows) each(plugin, office);
    return absl::OkStatus();
  }

  // Dead row versions keep old values in the table's files until rewritten; a dump never shows
  // them, the data directory would. VACUUM FULL rewrites the table (under an exclusive lock).
  absl::Status Compact() override {
    auto c = Acquire();
    if (!c.ok()) return c.status();
    auto r = c->Run("VACUUM FULL plugin_kv");
    return r.ok() ? absl::OkStatus() : Failed("vacuum", r.status());
  }

  absl::Status Ping() override {
    auto c = Acquire(/*probe=*/true);
    if (!c.ok()) return c.status();
    auto r = c->Run("SELECT 1");
    return r.ok() ? absl::OkStatus() : Failed("ping", r.status());
  }

  // The longest a statement may go unanswered before its connection is given up.
  absl::Duration StatementDeadline() const {
    return absl::Seconds(options_.statement_timeout_seconds) + absl::Seconds(2);
  }

  // Takes back a leased connection: kept if it is healthy and outside a transaction. A lost
  // connection means the others are likely lost too (a restart, a failover): they are dropped,
  // and the next call opens a fresh one.
  void Release(PGconn* conn, bool broken) {
    std::vector<PGconn*> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      bool lost = broken || PQstatus(conn) != CONNECTION_OK;
      if (!lost && PQtransactionStatus(conn) == PQTRANS_IDLE) {
        idle_.push_back(conn);
      } else {
        drop.push_back(conn);
        if (lost) drop.insert(drop.end(), idle_.begin(), idle_.end());
        if (lost) idle_.clear();
        open_ -= static_cast<int>(drop.size());
      }
    }
    for (PGconn* c : drop) PQfinish(c);
    freed_.notify_one();
  }

 private:
  absl::Status MigrateOn(Lease& c) {
    for (const char* sql :
         {"BEGIN", kMigrationLock,
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at "
          "TIMESTAMPTZ NOT NULL DEFAULT now())"}) {
      if (auto r = c.Run(sql); !r.ok()) return Failed("migrations", r.status());
    }
    auto current = c.Run("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!current.ok()) return Failed("migrations", current.status());
    int64_t have = current->Int(0, 0);
    int64_t known = sizeof kMigrations / sizeof kMigrations[0];
    if (have > known) {
      return absl::FailedPreconditionError(absl::StrCat("store: the database is at schema version ",
                                                        have, ", newer than this engine's ", known,
                                                        "; upgrade the engine"));
    }
    for (int64_t v = have + 1; v <= known; ++v) {
      auto r = c.Run(kMigrations[v - 1]);
      if (r.ok())
        r = c.Run(absl::StrCat("INSERT INTO schema_migrations(version) VALUES (", v, ")"));
      if (!r.ok()) {
        return absl::UnavailableError(
            absl::StrCat("store: migration ", v, " failed: ", r.status().message()));
      }
    }
    if (auto r = c.Run("COMMIT"); !r.ok()) return Failed("migrations commit", r.status());
    return absl::OkStatus();
  }

  absl::Status AppendAuditOn(Lease& c, const AuditRecord& a) {
    // The advisory lock makes reading the chain's head and writing the next link one step for
    // every engine sharing the database: the chain never forks.
    for (const char* sql : {"BEGIN", kAuditLock}) {
      if (auto r = c.Run(sql); !r.ok()) return Failed("audit begin", r.status());
    }
    auto head = c.Run("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (!head.ok()) return Failed("audit head", head.status());
    int64_t seq = head->rows() ? head->Int(0, 0) + 1 : 1;
    std::string prev = head->rows() ? head->Text(0, 1) : "";
    absl::StatusOr<std::string> hash = audit_keys_.Link(prev, seq, a);
    if (!hash.ok()) return hash.status();
    std::string seq_text = absl::StrCat(seq), time = absl::StrCat(a.time_ms),
                outcome = absl::StrCat(a.outcome);
    auto insert = c.Run(
        "INSERT INTO audit_log(seq, time_ms, caller, office, plugin, action, subject_ref, "
        "outcome, detail, request_id, prev_hash, hash, acting_user, key_id) VALUES ($1, $2, $3, "
        "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        {seq_text, time, a.caller, a.office, a.plugin, a.action, a.subject_ref, outcome, a.detail,
         a.request_id, prev, *hash, a.user, a.key_id},
        /*binary=*/false);
    if (!insert.ok()) return Failed("audit append", insert.status());
    if (auto r = c.Run("COMMIT"); !r.ok()) return Failed("audit commit", r.status());
    return absl::OkStatus();
  }

  static absl::Status Failed(std::string_view what, const absl::Status& why) {
    return absl::UnavailableError("store " + std::string(what) + ": " + std::string(why.message()));
  }

  // A connection for one call: an idle one that is still healthy, else a new one. While the
  // database is known to be unreachable, fails at once unless it is time for the next attempt
  // (one caller at a time) or `probe` asks to try now.
  absl::StatusOr<Lease> Acquire(bool probe = false) {
    std::unique_lock<std::mutex> lock(mu_);
    absl::Time give_up =
        absl::Now() + StatementDeadline() + absl::Seconds(options_.connect_timeout_seconds);
    for (;;) {
      while (!idle_.empty()) {
        PGconn* c = idle_.back();
        idle_.pop_back();
        if (StillOpen(c)) return Lease(this, c);
        PQfinish(c);
        --open_;
      }
      if (open_ < options_.pool_size) break;
      if (absl::Now() >= give_up ||
          freed_.wait_for(lock, absl::ToChronoNanoseconds(give_up - absl::Now())) ==
              std::cv_status::timeout) {
        return absl::UnavailableError("every PostgreSQL connection stayed busy");
      }
    }
    if (down_ && !probe && (reconnecting_ || absl::Now() < next_attempt_)) {
      return absl::UnavailableError("PostgreSQL is unreachable (" + last_error_ +
                                    "); the next attempt to connect is under way or due soon");
    }
    bool was_down = down_;
    reconnecting_ = reconnecting_ || was_down;
    ++open_;
    lock.unlock();
    std::string why;
    PGconn* c = Connect(&why);
    lock.lock();
    if (was_down) reconnecting_ = false;
    if (c == nullptr) {
      --open_;
      backoff_ = down_
                     ? std::min(backoff_ * 2, absl::Seconds(options_.max_reconnect_backoff_seconds))
                     : absl::Milliseconds(100);
      down_ = true;
      next_attempt_ = absl::Now() + backoff_;
      last_error_ = why;
      freed_.notify_one();
      return absl::UnavailableError("cannot connect to PostgreSQL: " + why);
    }
    down_ = false;
    return Lease(this, c);
  }

  // An idle connection the server has not closed: anything readable on it now is the server's
  // goodbye (a shutdown or a terminated backend), or the socket's end.
  static bool StillOpen(PGconn* c) {
    pollfd p{PQsocket(c), POLLIN, 0};
    if (poll(&p, 1, 0) > 0 && (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK ||
                               (p.revents & (POLLHUP | POLLERR)) != 0)) {
      return false;
    }
    return PQstatus(c) == CONNECTION_OK;
  }

  PGconn* Connect(std::string* why) {
    // The configuration's settings override the connection string's (expand_dbname).
    std::vector<std::pair<std::string, std::string>> settings = {
        {"dbname", options_.conninfo},
        {"connect_timeout", std::to_string(std::max(2, options_.connect_timeout_seconds))},
        // A write the server stops acknowledging (a lost network) ends the connection.
        {"tcp_user_timeout", std::to_string(absl::ToInt64Milliseconds(StatementDeadline()))},
        {"fallback_application_name", "kaigo-bridge"}};
    if (!options_.sslmode.empty()) settings.push_back({"sslmode", options_.sslmode});
    if (!options_.ca_file.empty()) settings.push_back({"sslrootcert", options_.ca_file});
    std::vector<const char*> keys, values;
    for (const auto& [k, v] : settings) {
      keys.push_back(k.c_str());
      values.push_back(v.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    PGconn* c = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
    if (PQstatus(c) != CONNECTION_OK) {
      *why = PQerrorMessage(c);
      while (!why->empty() && why->back() == '\n') why->pop_back();
      PQfinish(c);
      return nullptr;
    }
    // The server's NOTICEs ("already exists, skipping") are not for the operator's terminal.
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    Lease lease(this, c);
    auto set = lease.Run(
        absl::StrCat("SET statement_timeout = '", options_.statement_timeout_seconds, "s'"));
    lease.Detach();
    if (!set.ok()) {
      *why = std::string(set.status().message());
      PQfinish(c);
      return nullptr;
    }
    return c;
  }

  const PostgresOptions options_;
  const AuditKeyring audit_keys_;
  std::mutex mu_;
  std::condition_variable freed_;  // a connection came back, or a slot freed up
  std::vector<PGconn*> idle_;
  int open_ = 0;               // idle and leased connections, and those being opened
  bool down_ = false;          // the last attempt to connect failed
  bool reconnecting_ = false;  // a caller is trying to connect while down_
  absl::Time next_attempt_;
  absl::Duration backoff_;
  std::string last_error_;
};

Lease::~Lease() {
  if (conn_ != nullptr) store_->Release(conn_, broken_);
}

absl::StatusOr<Result> Lease::Run(const std::string& sql,
                                  const std::vector<std::string_view>& values, bool binary) {
  if (broken_) return absl::UnavailableError("the connection was given up");
  absl::Duration limit = store_->StatementDeadline();
  int sent;
  if (values.empty() && !binary) {
    sent = PQsendQuery(conn_, sql.c_str());
  } else {
    std::vector<const char*> data;
    std::vector<int> lengths, formats;
    std::vector<std::string> copies;  // text format needs NUL-terminated values
    if (!binary) copies.assign(values.begin(), values.end());
    for (size_t i = 0; i < values.size(); ++i) {
      data.push_back(binary ? values[i].data() : copies[i].c_str());
      lengths.push_back(static_cast<int>(values[i].size()));
      formats.push_back(binary ? 1 : 0);
    }
    sent = PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             data.data(), lengths.data(), formats.data(),
                             /*resultFormat=*/binary ? 1 : 0);
  }
  if (!sent) return absl::UnavailableError(PQerrorMessage(conn_));
  // Every result of the statement(s); the first failed one, else the last, is the answer.
  absl::Time deadline = absl::Now() + limit;
  std::optional<Result> answer;
  for (;;) {
    while (PQisBusy(conn_)) {
      int64_t wait = absl::ToInt64Milliseconds(deadline - absl::Now());
      pollfd p{PQsocket(conn_), POLLIN, 0};
      int ready = wait > 0 ? poll(&p, 1, static_cast<int>(wait)) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) {
        // No answer in time: the connection is given up (its server side ends the statement at
        // statement_timeout).
        broken_ = true;
        return absl::UnavailableError(
            absl::StrCat("PostgreSQL did not answer within ", absl::FormatDuration(limit)));
      }
      if (!PQconsumeInput(conn_)) return absl::UnavailableError(PQerrorMessage(conn_));
    }
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) break;
    Result next(r);
    if (!answer || answer->ok()) answer.emplace(std::move(next));
  }
  if (!answer) return absl::UnavailableError(PQerrorMessage(conn_));
  if (!answer->ok()) return absl::UnavailableError(answer->error());
  return std::move(*answer);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options,
                                                         AuditKeyring audit_keys) {
  auto store = std::make_unique<PostgresStore>(options, std::move(audit_keys));
  if (auto s = store->Migrate(); !s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace kaigo::engine

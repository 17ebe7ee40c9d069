#include "sandbox/idempotency_ledger.h"

#include "sandbox/sqlite_query.h"

namespace kaigo::sandbox {

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS idempotency_keys (office TEXT NOT NULL, key TEXT NOT NULL,
  fingerprint TEXT NOT NULL, request TEXT NOT NULL, status INTEGER NOT NULL,
  content_type TEXT NOT NULL, body BLOB NOT NULL, kept_at INTEGER NOT NULL,
  PRIMARY KEY (office, key));
)sql";

}  // namespace

absl::StatusOr<std::unique_ptr<IdempotencyLedger>> IdempotencyLedger::Open(
    const std::string& path, std::function<int64_t()> now) {
  bool fresh = false;
  auto db = OpenDatabase(path, kSchema, "idempotency_keys", &fresh);
  if (!db.ok()) return db.status();
  return std::unique_ptr<IdempotencyLedger>(new IdempotencyLedger(*db, std::move(now)));
}

IdempotencyLedger::~IdempotencyLedger() { sqlite3_close(db_); }

std::string IdempotencyLedger::Fingerprint(const std::string& method, const std::string& target,
                                           const std::string& body) {
  return Sha256(method + "\n" + target + "\n" + Sha256(body));
}

IdempotencyLedger::Entry IdempotencyLedger::Begin(const std::string& office, const std::string& key,
                                                  const std::string& fingerprint) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry entry;
  Query kept(db_,
             "SELECT fingerprint, request, status, content_type, body FROM idempotency_keys "
             "WHERE office = ?1 AND key = ?2");
  kept.Bind(1, office).Bind(2, key);
  if (kept.Row()) {
    if (kept.Text(0) != fingerprint) {
      entry.verdict = Verdict::kMismatch;
      entry.first_request = kept.Text(1);
      return entry;
    }
    entry.verdict = Verdict::kReplay;
    entry.answer = {static_cast<int>(kept.Int(2)), kept.Text(3), kept.Blob(4)};
    return entry;
  }
  if (!in_flight_.insert({office, key}).second) entry.verdict = Verdict::kInFlight;
  return entry;
}

void IdempotencyLedger::Finish(const std::string& office, const std::string& key,
                               const std::string& fingerprint, const std::string& request,
                               bool keep, const Answer& answer) {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase({office, key});
  if (!keep) return;
  Query insert(db_,
               "INSERT OR IGNORE INTO idempotency_keys(office, key, fingerprint, request, status, "
               "content_type, body, kept_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  insert.Bind(1, office)
      .Bind(2, key)
      .Bind(3, fingerprint)
      .Bind(4, request)
      .Bind(5, static_cast<int64_t>(answer.status))
      .Bind(6, answer.content_type)
      .BindBlob(7, answer.body)
      .Bind(8, now_());
  insert.Run();
}

}  // namespace kaigo::sandbox

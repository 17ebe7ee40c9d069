// The platform's idempotency layer as the sandbox models it (the IETF httpapi draft "The
// Idempotency-Key HTTP Header Field"): every mutating request (POST, PUT, PATCH, DELETE) but login
// and token refresh carries an `Idempotency-Key`; the first request under a key is performed and
// its answer kept, per office (the client certificate's) and key, with a fingerprint of the
// request (method, path with query, body):
//
//   - the same key and fingerprint again: the kept answer, replayed, nothing performed;
//   - the same key and another fingerprint: refused (422), nothing performed;
//   - the same key while the first is still being performed: refused (409), to be retried.
//
// Only answers that made something are kept: HTTP 2xx without an {"error": …} body. A refused
// request (a business error, 4xx, 5xx) changed nothing, so a retry under its key is performed
// afresh — e.g. a care-plan send refused with UNIT_ORDER and renumbered, or an OTP typed again.
//
// Kept in its own SQLite file, across restarts. The answer is kept after the desk that performed
// the request committed its record, in another file: a sandbox killed between the two (never in
// the tests) would perform a retry again, where the desks' own client_reference checks still hold.
// Thread-safe (one connection behind a mutex).
#ifndef KAIGO_SANDBOX_IDEMPOTENCY_LEDGER_H_
#define KAIGO_SANDBOX_IDEMPOTENCY_LEDGER_H_

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace kaigo::sandbox {

class IdempotencyLedger {
 public:
  struct Answer {
    int status = 200;
    std::string content_type;
    std::string body;
  };
  enum class Verdict { kPerform, kReplay, kMismatch, kInFlight };
  struct Entry {
    Verdict verdict = Verdict::kPerform;
    Answer answer;              // kReplay: the kept answer
    std::string first_request;  // kMismatch: "POST /path" the key was first used for
  };

  static absl::StatusOr<std::unique_ptr<IdempotencyLedger>> Open(const std::string& path,
                                                                 std::function<int64_t()> now);
  ~IdempotencyLedger();

  // The fingerprint of a request: hex SHA-256 over method, target and body.
  static std::string Fingerprint(const std::string& method, const std::string& target,
                                 const std::string& body);

  // What to do with a request under (office, key). kPerform marks it in flight: call Finish.
  Entry Begin(const std::string& office, const std::string& key, const std::string& fingerprint);
  // Ends what Begin marked; keeps `answer` when `keep`. `request` is "METHOD /path".
  void Finish(const std::string& office, const std::string& key, const std::string& fingerprint,
              const std::string& request, bool keep, const Answer& answer);

 private:
  IdempotencyLedger(sqlite3* db, std::function<int64_t()> now) : db_(db), now_(std::move(now)) {}

  sqlite3* db_;
  std::function<int64_t()> now_;
  std::mutex mu_;
  std::set<std::pair<std::string, std::string>> in_flight_;
};

}  // namespace kaigo::sandbox

#endif  // KAIGO_SANDBOX_IDEMPOTENCY_LEDGER_H_

// Small helpers the sandbox's SQLite-backed models share: opening a model's database, a
// statement wrapper with text bindings, hex SHA-256, random tokens and the date in Japan. Not
// thread-safe (callers hold their model's mutex).
#ifndef KAIGO_SANDBOX_SQLITE_QUERY_H_
#define KAIGO_SANDBOX_SQLITE_QUERY_H_

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "kaigo/sdk/clock.h"

namespace kaigo::sandbox {

inline std::string Hex(const unsigned char* data, size_t size) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(data), size));
}

inline std::string RandomToken() {
  unsigned char bytes[24];
  RAND_bytes(bytes, sizeof bytes);
  return Hex(bytes, sizeof bytes);
}

inline std::string Sha256(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return Hex(digest, size);
}

// A statement with text bindings; columns read back as strings (NULL → "").
class Query {
 public:
  Query(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Query() { sqlite3_finalize(stmt_); }
  Query& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Query& BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // False when the statement did not compile (e.g. a column the database lacks).
  bool Prepared() const { return stmt_ != nullptr; }
  bool Row() { return sqlite3_step(stmt_) == SQLITE_ROW; }
  bool Run() { return sqlite3_step(stmt_) == SQLITE_DONE; }
  std::string Text(int i) {
    const unsigned char* t = sqlite3_column_text(stmt_, i);
    return t == nullptr ? "" : reinterpret_cast<const char*>(t);
  }
  std::string Blob(int i) {
    const void* b = sqlite3_column_blob(stmt_, i);
    return b == nullptr ? ""
                        : std::string(static_cast<const char*>(b), sqlite3_column_bytes(stmt_, i));
  }
  int64_t Int(int i) { return sqlite3_column_int64(stmt_, i); }
  bool IsNull(int i) { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Opens (creating) the database at `path` in WAL mode with `schema` applied. *fresh tells whether
// `seed_table` is empty, i.e. the model must seed it. The caller owns the handle.
inline absl::StatusOr<sqlite3*> OpenDatabase(const std::string& path, const char* schema,
                                             const char* seed_table, bool* fresh) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    return absl::UnavailableError("cannot open " + path);
  }
  sqlite3_exec(db, "PRAGMA journal_mode=WAL;", nullptr, nullptr, nullptr);
  if (sqlite3_exec(db, schema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string why = sqlite3_errmsg(db);
    sqlite3_close(db);
    return absl::UnavailableError("cannot create the schema of " + path + ": " + why);
  }
  Query count(db, (std::string("SELECT COUNT(*) FROM ") + seed_table).c_str());
  *fresh = count.Row() && count.Int(0) == 0;
  return db;
}

// "YYYY-MM-DD" of `unix_seconds` in Japan.
inline std::string JapanDate(int64_t unix_seconds) {
  return IsoDate(JapanDay(absl::FromUnixSeconds(unix_seconds)));
}

}  // namespace kaigo::sandbox

#endif  // KAIGO_SANDBOX_SQLITE_QUERY_H_

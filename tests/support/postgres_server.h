// A real PostgreSQL for tests (Debian's package): a cluster made with initdb in a temp directory,
// the server on a free loopback port, run as the `postgres` user (it refuses root), trust
// authentication for user "kaigo" on loopback only. Stopped by process id (fast shutdown: the
// server ends its clients' sessions and exits), and started again on the same port and data.
#ifndef KAIGO_TESTS_SUPPORT_POSTGRES_SERVER_H_
#define KAIGO_TESTS_SUPPORT_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {

class PostgresServer {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();
  // A libpq connection string for a fresh database `name` (created on first use).
  absl::StatusOr<std::string> Database(const std::string& name);
  // An engine configuration's `store:` section for a fresh database `name`, its connection string
  // written to `secrets` as the file it references; `settings` are more lines under `postgres:`
  // (e.g. "pool_size: 2").
  absl::StatusOr<std::string> StoreYaml(const std::string& name, const TempDir& secrets,
                                        const std::vector<std::string>& settings = {});
  std::string Log() const;
  // The cluster's data directory (every file the server writes: tables, WAL).
  std::string DataDir() const { return dir_->path() + "/data"; }
  // pg_dump of database `name` as plain SQL into `file`.
  absl::Status Dump(const std::string& name, const std::string& file);
  // A plain SQL dump `file` loaded into a fresh database `name` (psql); its connection string.
  absl::StatusOr<std::string> Restore(const std::string& file, const std::string& name);
  // Fast shutdown by process id (SIGINT; SIGKILL if it has not exited within 30 s).
  void Stop();
  // Starts the server again on the same port and data, after Stop; returns once it answers.
  absl::Status Restart();

 private:
  PostgresServer() = default;
  absl::Status Launch();
  std::string bin_;
  std::unique_ptr<TempDir> dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_POSTGRES_SERVER_H_

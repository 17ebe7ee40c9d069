#include "tests/support/postgres_server.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace kaigo::testing {

namespace {

std::string BinDir() {
  std::string best;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = e.path().string() + "/bin";
    if (std::filesystem::exists(bin + "/postgres") && bin > best) best = bin;
  }
  return best;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  std::string bin = BinDir();
  if (bin.empty()) return absl::FailedPreconditionError("PostgreSQL is not installed");
  passwd* pg = getpwnam("postgres");
  if (pg == nullptr) return absl::FailedPreconditionError("no postgres user");
  std::unique_ptr<PostgresServer> s(new PostgresServer());
  s->dir_ = std::make_unique<TempDir>();
  std::string data = s->dir_->path() + "/data";
  std::filesystem::create_directories(data);
  for (const auto& p : {s->dir_->path(), data}) {
    if (chown(p.c_str(), pg->pw_uid, pg->pw_gid) != 0) {
      return absl::InternalError("cannot hand " + p + " to postgres");
    }
  }
  const std::string as_postgres =
      "/usr/bin/setpriv --reuid=postgres --regid=postgres --clear-groups -- ";
  CommandResult init = RunCommand(as_postgres + bin + "/initdb -D " + data +
                                  " -U kaigo -A trust --no-sync -E UTF8 --locale=C.UTF-8");
  if (init.exit_code != 0) return absl::InternalError("initdb failed:\n" + init.output);
  s->port_ = FreeLoopbackPort();
  s->bin_ = bin;
  if (absl::Status launched = s->Launch(); !launched.ok()) return launched;
  return s;
}

absl::Status PostgresServer::Launch() {
  std::string data = dir_->path() + "/data";
  pid_ = Spawn(
      {"/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--",
       bin_ + "/postgres", "-D", data, "-p", std::to_string(port_), "-c",
       "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + data, "-c", "fsync=off"},
      dir_->path() + "/postgres.log");
  std::string ping = absl::StrCat("host=127.0.0.1 port=", port_, " user=kaigo dbname=postgres");
  for (int i = 0; i < 500 && PQping(ping.c_str()) != PQPING_OK; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (PQping(ping.c_str()) != PQPING_OK) {
    return absl::UnavailableError("postgres did not start:\n" + Log());
  }
  return absl::OkStatus();
}

void PostgresServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGINT);
  int status = 0;
  for (int i = 0; i < 3000; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

absl::Status PostgresServer::Restart() {
  if (pid_ > 0) return absl::FailedPreconditionError("postgres is still running");
  return Launch();
}

PostgresServer::~PostgresServer() { Stop(); }

absl::StatusOr<std::string> PostgresServer::Database(const std::string& name) {
  std::string admin = absl::StrCat("host=127.0.0.1 port=", port_, " user=kaigo dbname=postgres");
  PGconn* c = PQconnectdb(admin.c_str());
  PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
            std::string(PQerrorMessage(c)).find("already exists") != std::string::npos;
  std::string why = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) return absl::InternalError("CREATE DATABASE " + name + ": " + why);
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=kaigo dbname=", name);
}

absl::StatusOr<std::string> PostgresServer::StoreYaml(const std::string& name,
                                                      const TempDir& secrets,
                                                      const std::vector<std::string>& settings) {
  auto db = Database(name);
  if (!db.ok()) return db.status();
  std::string yaml =
      "store:\n  postgres:\n    conninfo: {file: " + secrets.Write("conninfo-" + name, *db + "\n") +
      "}\n";
  for (const auto& line : settings) yaml += "    " + line + "\n";
  return yaml;
}

absl::Status PostgresServer::Dump(const std::string& name, const std::string& file) {
  CommandResult r = RunCommand(absl::StrCat(bin_, "/pg_dump -h 127.0.0.1 -p ", port_,
                                            " -U kaigo --no-password -f ", file, " ", name));
  if (r.exit_code != 0) return absl::InternalError("pg_dump " + name + ":\n" + r.output);
  return absl::OkStatus();
}

absl::StatusOr<std::string> PostgresServer::Restore(const std::string& file,
                                                    const std::string& name) {
  auto db = Database(name);
  if (!db.ok()) return db.status();
  CommandResult r = RunCommand(absl::StrCat(bin_, "/psql -h 127.0.0.1 -p ", port_,
                                            " -U kaigo --no-password -v ON_ERROR_STOP=1 -q -f ",
                                            file, " ", name));
  if (r.exit_code != 0) return absl::InternalError("restoring " + file + ":\n" + r.output);
  return db;
}

std::string PostgresServer::Log() const { return ReadFile(dir_->path() + "/postgres.log"); }

}  // namespace kaigo::testing

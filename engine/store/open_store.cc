#include "engine/store/open_store.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace kaigo::engine {

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const kaigo::v1::StoreConfig& config,
                                                 const std::string& config_dir) {
  auto resolve = [&](const std::string& path) {
    return path.empty() ? path
                        : (std::filesystem::path(config_dir) / path).lexically_normal().string();
  };
  if (!config.has_postgres()) {
    SqliteOptions sqlite;
    sqlite.full_sync = config.sqlite_synchronous() != kaigo::v1::SQLITE_SYNCHRONOUS_NORMAL;
    return OpenSqliteStore(resolve(config.sqlite_path()), sqlite);
  }
  const auto& pg = config.postgres();
  const auto& ref = pg.conninfo();
  std::string conninfo;
  if (!ref.file().empty()) {
    std::ifstream in(resolve(ref.file()));
    if (!in) return absl::FailedPreconditionError("store.postgres.conninfo: cannot read the file");
    conninfo.assign(std::istreambuf_iterator<char>(in), {});
  } else if (const char* value = std::getenv(ref.env().c_str()); value != nullptr) {
    conninfo = value;
  } else {
    return absl::FailedPreconditionError("store.postgres.conninfo: the variable " + ref.env() +
                                         " is not set");
  }
  while (!conninfo.empty() && (conninfo.back() == '\n' || conninfo.back() == '\r')) {
    conninfo.pop_back();
  }
  PostgresOptions options;
  options.conninfo = std::move(conninfo);
  options.sslmode = pg.sslmode();
  options.ca_file = resolve(pg.ca_file());
  auto set = [](int32_t configured, int* option) {
    if (configured > 0) *option = configured;
  };
  set(pg.pool_size(), &options.pool_size);
  set(pg.connect_timeout_seconds(), &options.connect_timeout_seconds);
  set(pg.statement_timeout_seconds(), &options.statement_timeout_seconds);
  set(pg.max_reconnect_backoff_seconds(), &options.max_reconnect_backoff_seconds);
  return OpenPostgresStore(options);
}

}  // namespace kaigo::engine

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
  if (!config.has_postgres()) return OpenSqliteStore(resolve(config.sqlite_path()));
  const auto& ref = config.postgres().conninfo();
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
  return OpenPostgresStore(conninfo);
}

}  // namespace kaigo::engine

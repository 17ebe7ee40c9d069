// The store the configuration names: SQLite by default, PostgreSQL when `store.postgres` is set
// (its connection string read from the secret file or environment variable it references).
#ifndef KAIGO_ENGINE_STORE_OPEN_STORE_H_
#define KAIGO_ENGINE_STORE_OPEN_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/store/store.h"
#include "kaigo/v1/config.pb.h"

namespace kaigo::engine {

// Relative paths are taken from `config_dir`.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const kaigo::v1::StoreConfig& config,
                                                 const std::string& config_dir);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_STORE_OPEN_STORE_H_

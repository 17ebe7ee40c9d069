// The store the configuration names: SQLite by default, PostgreSQL when `store.postgres` is set
// (its connection string read from the secret file or environment variable it references), and
// the keyrings of the engine's keys it is used with.
#ifndef KAIGO_ENGINE_STORE_OPEN_STORE_H_
#define KAIGO_ENGINE_STORE_OPEN_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/config/engine_keys.h"
#include "engine/store/sealing_store.h"
#include "engine/store/store.h"
#include "kaigo/v1/config.pb.h"

namespace kaigo::engine {

// The audit keyring of the engine's keys: written with keys.audit, read with it and the retired.
AuditKeyring AuditKeyringOf(const EngineKeys& keys);

// The sealing keyring of the engine's keys: keys.sealing, the offices' own and the retired.
SealingKeyring SealingKeyringOf(const EngineKeys& keys);

// Relative paths are taken from `config_dir`.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const kaigo::v1::StoreConfig& config,
                                                 const std::string& config_dir,
                                                 AuditKeyring audit_keys);

// OpenStore with its plugin values sealed under the engine's sealing keys (sealing_store.h).
absl::StatusOr<std::unique_ptr<SealingStore>> OpenSealedStore(const kaigo::v1::StoreConfig& config,
                                                              const std::string& config_dir,
                                                              const EngineKeys& keys);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_STORE_OPEN_STORE_H_

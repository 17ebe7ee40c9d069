#include "engine/store/open_store.h"

#include "engine/config/config_loader.h"
#include "engine/config/engine_keys.h"

namespace kaigo::engine {

AuditKeyring AuditKeyringOf(const EngineKeys& keys) {
  AuditKeyring ring;
  ring.signing_id = keys.audit.id;
  if (!keys.audit.id.empty()) ring.secrets[keys.audit.id] = keys.audit.secret;
  for (const auto& retired : keys.audit_retired) ring.secrets[retired.id] = retired.secret;
  return ring;
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const kaigo::v1::StoreConfig& config,
                                                 const std::string& config_dir,
                                                 AuditKeyring audit_keys) {
  if (!config.has_postgres()) {
    const std::string& path = config.sqlite_path();
    return OpenSqliteStore(path.empty() ? path : ResolvePath(config_dir, path),
                           std::move(audit_keys));
  }
  auto conninfo =
      ReadSecretRef(config.postgres().conninfo(), config_dir, "store.postgres.conninfo");
  if (!conninfo.ok()) return conninfo.status();
  return OpenPostgresStore(*conninfo, std::move(audit_keys));
}

}  // namespace kaigo::engine

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

SealingKeyring SealingKeyringOf(const EngineKeys& keys) {
  SealingKeyring ring;
  ring.signing_id = keys.sealing.id;
  ring.secrets[keys.sealing.id] = keys.sealing.secret;
  for (const auto& retired : keys.sealing_retired) ring.secrets[retired.id] = retired.secret;
  for (const auto& [office, key] : keys.office_sealing) {
    ring.office_ids[office] = key.id;
    ring.secrets[key.id] = key.secret;
  }
  return ring;
}

absl::StatusOr<std::unique_ptr<SealingStore>> OpenSealedStore(const kaigo::v1::StoreConfig& config,
                                                              const std::string& config_dir,
                                                              const EngineKeys& keys) {
  auto store = OpenStore(config, config_dir, AuditKeyringOf(keys));
  if (!store.ok()) return store.status();
  return SealingStore::Create(*std::move(store), SealingKeyringOf(keys));
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const kaigo::v1::StoreConfig& config,
                                                 const std::string& config_dir,
                                                 AuditKeyring audit_keys) {
  auto resolve = [&](const std::string& path) {
    return path.empty() ? path : ResolvePath(config_dir, path);
  };
  if (!config.has_postgres()) {
    SqliteOptions sqlite;
    sqlite.full_sync = config.sqlite_synchronous() != kaigo::v1::SQLITE_SYNCHRONOUS_NORMAL;
    return OpenSqliteStore(resolve(config.sqlite_path()), std::move(audit_keys), sqlite);
  }
  const auto& pg = config.postgres();
  auto conninfo = ReadSecretRef(pg.conninfo(), config_dir, "store.postgres.conninfo");
  if (!conninfo.ok()) return conninfo.status();
  PostgresOptions options;
  options.conninfo = *std::move(conninfo);
  options.sslmode = pg.sslmode();
  options.ca_file = resolve(pg.ca_file());
  auto set = [](int32_t configured, int* option) {
    if (configured > 0) *option = configured;
  };
  set(pg.pool_size(), &options.pool_size);
  set(pg.connect_timeout_seconds(), &options.connect_timeout_seconds);
  set(pg.statement_timeout_seconds(), &options.statement_timeout_seconds);
  set(pg.max_reconnect_backoff_seconds(), &options.max_reconnect_backoff_seconds);
  return OpenPostgresStore(options, std::move(audit_keys));
}

}  // namespace kaigo::engine

// The engine's own keys (configuration `keys`, kaigo.v1.KeysConfig in proto/kaigo/v1/config.proto):
// the audit chain's key, the recipient-reference key and the keys that seal stored values (with
// the offices' own, OfficeConfig.sealing_key), read from their secrets (file or environment
// variable) at start, never from the store.
//
// Without configured keys a desk install (SQLite file) uses key files the engine creates beside its
// configuration (keys/audit.key, keys/recipient-ref.key, keys/sealing.key, mode 0600) — only when
// asked to create them (serve); verifying and searching never create keys. PostgreSQL
// configurations must name their keys (ValidateConfig says so). An in-memory store gets keys for
// the process's life.
//
// Thread-compatible; the result is immutable.
#ifndef KAIGO_ENGINE_CONFIG_ENGINE_KEYS_H_
#define KAIGO_ENGINE_CONFIG_ENGINE_KEYS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kaigo/v1/config.pb.h"

namespace kaigo::engine {

struct EngineKey {
  std::string id;
  std::string secret;  // at least 32 bytes
};

struct EngineKeys {
  EngineKey audit;
  std::vector<EngineKey> audit_retired;
  EngineKey recipient_ref;
  EngineKey sealing;
  std::vector<EngineKey> sealing_retired;
  std::map<std::string, EngineKey> office_sealing;  // office number → its own sealing key
  // What the operator must be told at every start (keys made up because none are configured).
  std::vector<std::string> warnings;
};

// The secret `ref` names; relative files are taken from `config_dir`. A trailing newline of a text
// secret is dropped. `what` names the field in errors.
absl::StatusOr<std::string> ReadSecretRef(const kaigo::v1::SecretRef& ref,
                                          const std::string& config_dir, const std::string& what);

// FAILED_PRECONDITION naming the key when one cannot be read or is shorter than 32 bytes, or (with
// `create_missing` false) when a desk install's key file does not exist yet.
// `store` decides what happens to keys not configured (see above). Without `value_keys` neither
// the recipient-reference key nor the sealing keys are read or needed (verifying the audit log
// needs only the audit keys). The offices' own sealing keys are read from `offices`.
absl::StatusOr<EngineKeys> LoadEngineKeys(
    const kaigo::v1::KeysConfig& config, const kaigo::v1::StoreConfig& store,
    const std::string& config_dir, bool create_missing, bool value_keys = true,
    const google::protobuf::RepeatedPtrField<kaigo::v1::OfficeConfig>& offices = {});

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_CONFIG_ENGINE_KEYS_H_

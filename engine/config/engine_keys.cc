#include "engine/config/engine_keys.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/escaping.h"
#include "engine/config/config_loader.h"

namespace kaigo::engine {

namespace {

constexpr size_t kMinKeyBytes = 32;

std::string RandomHexKey() {
  unsigned char bytes[32];
  RAND_bytes(bytes, sizeof bytes);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}

absl::StatusOr<EngineKey> ReadKey(const kaigo::v1::NamedKey& key, const std::string& config_dir,
                                  const std::string& what) {
  auto secret = ReadSecretRef(key.secret(), config_dir, what + ".secret");
  if (!secret.ok()) return secret.status();
  if (secret->size() < kMinKeyBytes) {
    return absl::FailedPreconditionError(
        what + ".secret: at least 32 bytes (e.g. openssl rand -hex 32 > key-file)");
  }
  return EngineKey{key.id(), *std::move(secret)};
}

// A desk install's key file `name` under <config_dir>/keys/, created when `create` and absent.
absl::StatusOr<EngineKey> DeskKey(const std::string& config_dir, const std::string& name,
                                  const std::string& id, const std::string& field, bool create,
                                  std::vector<std::string>* warnings) {
  std::string dir = ResolvePath(config_dir, "keys");
  std::string path = dir + "/" + name;
  kaigo::v1::SecretRef ref;
  ref.set_file(path);
  if (access(path.c_str(), F_OK) != 0) {
    if (!create) {
      return absl::FailedPreconditionError(field + " is not configured and " + path +
                                           " does not exist: name the key in the configuration");
    }
    mkdir(dir.c_str(), 0700);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
      return absl::FailedPreconditionError(field + " is not configured and " + path +
                                           " cannot be created: " + std::strerror(errno));
    }
    std::string key = RandomHexKey() + "\n";
    bool written = write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
    written = fsync(fd) == 0 && written;
    close(fd);
    if (!written) return absl::FailedPreconditionError(field + ": cannot write " + path);
  }
  warnings->push_back(field + " is not configured: using the key file " + path + " (id " + id +
                      ") that this engine created. Keep it apart from the database and its " +
                      "backups, back it up, and name it in the configuration's keys section");
  auto secret = ReadSecretRef(ref, config_dir, field);
  if (!secret.ok()) return secret.status();
  return EngineKey{id, *std::move(secret)};
}

}  // namespace

absl::StatusOr<std::string> ReadSecretRef(const kaigo::v1::SecretRef& ref,
                                          const std::string& config_dir, const std::string& what) {
  std::string secret;
  if (!ref.file().empty()) {
    std::ifstream in(ResolvePath(config_dir, ref.file()), std::ios::binary);
    if (!in) return absl::FailedPreconditionError(what + ": cannot read the file");
    secret.assign(std::istreambuf_iterator<char>(in), {});
  } else if (const char* value = std::getenv(ref.env().c_str());
             !ref.env().empty() && value != nullptr) {
    secret = value;
  } else {
    return absl::FailedPreconditionError(what + ": the variable " + ref.env() + " is not set");
  }
  bool text = std::all_of(secret.begin(), secret.end(), [](unsigned char c) {
    return c == '\n' || c == '\r' || c == '\t' || c >= 0x20;
  });
  while (text && !secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  return secret;
}

absl::StatusOr<EngineKeys> LoadEngineKeys(
    const kaigo::v1::KeysConfig& k, const kaigo::v1::StoreConfig& store,
    const std::string& config_dir, bool create_missing, bool value_keys,
    const google::protobuf::RepeatedPtrField<kaigo::v1::OfficeConfig>& offices) {
  EngineKeys keys;
  bool in_memory = !store.has_postgres() && store.sqlite_path().empty();
  if (k.has_audit()) {
    auto key = ReadKey(k.audit(), config_dir, "keys.audit");
    if (!key.ok()) return key.status();
    keys.audit = *std::move(key);
  } else if (in_memory) {
    keys.audit = {"memory-audit", RandomHexKey()};  // the log it keys lives as long
  } else {
    auto key = DeskKey(config_dir, "audit.key", "local-audit-1", "keys.audit", create_missing,
                       &keys.warnings);
    if (!key.ok()) return key.status();
    keys.audit = *std::move(key);
  }
  for (int i = 0; i < k.audit_retired_size(); ++i) {
    auto key =
        ReadKey(k.audit_retired(i), config_dir, "keys.audit_retired[" + std::to_string(i) + "]");
    if (!key.ok()) return key.status();
    keys.audit_retired.push_back(*std::move(key));
  }
  if (!value_keys) return keys;
  // The key of `field`: configured, made up for an in-memory store, or a desk install's file.
  auto purpose_key = [&](bool configured, const kaigo::v1::NamedKey& named, const char* field,
                         const char* memory_id, const char* file, const char* desk_id,
                         EngineKey* out) -> absl::Status {
    absl::StatusOr<EngineKey> key =
        configured  ? ReadKey(named, config_dir, field)
        : in_memory ? absl::StatusOr<EngineKey>(EngineKey{memory_id, RandomHexKey()})
                    : DeskKey(config_dir, file, desk_id, field, create_missing, &keys.warnings);
    if (!key.ok()) return key.status();
    *out = *std::move(key);
    return absl::OkStatus();
  };
  if (absl::Status s =
          purpose_key(k.has_recipient_ref(), k.recipient_ref(), "keys.recipient_ref", "memory-ref",
                      "recipient-ref.key", "local-ref-1", &keys.recipient_ref);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = purpose_key(k.has_sealing(), k.sealing(), "keys.sealing", "memory-seal",
                                   "sealing.key", "local-seal-1", &keys.sealing);
      !s.ok()) {
    return s;
  }
  for (int i = 0; i < k.sealing_retired_size(); ++i) {
    auto key = ReadKey(k.sealing_retired(i), config_dir,
                       "keys.sealing_retired[" + std::to_string(i) + "]");
    if (!key.ok()) return key.status();
    keys.sealing_retired.push_back(*std::move(key));
  }
  for (int i = 0; i < offices.size(); ++i) {
    if (!offices[i].has_sealing_key()) continue;
    auto key = ReadKey(offices[i].sealing_key(), config_dir,
                       "offices[" + std::to_string(i) + "].sealing_key");
    if (!key.ok()) return key.status();
    keys.office_sealing[offices[i].number()] = *std::move(key);
  }
  return keys;
}

}  // namespace kaigo::engine

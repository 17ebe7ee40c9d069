#include "engine/store/sealing_store.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "aes_gcm.h"

namespace kaigo::engine {

namespace {

constexpr std::string_view kMarker("\0KS1", 4);
constexpr size_t kMinSecretBytes = 32;

// The AES key of a configured secret: HMAC-SHA-256 under the secret of a fixed label, so a
// secret of any length (hex text, raw bytes) gives 32 uniform bytes, distinct from what the same
// secret would give for another purpose.
std::string AesKeyOf(std::string_view secret) {
  static constexpr std::string_view kLabel = "kaigo-bridge store sealing v1";
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(kLabel.data()), kLabel.size(), out, &size);
  return std::string(reinterpret_cast<char*>(out), size);
}

// What a sealed value is bound to: each part with its length, so no two triples give one string.
std::string BoundTo(std::string_view plugin, std::string_view office, std::string_view key) {
  std::string aad = "kaigo.store.v1";
  for (std::string_view part : {plugin, office, key}) {
    uint32_t n = static_cast<uint32_t>(part.size());
    for (int shift : {24, 16, 8, 0}) aad.push_back(static_cast<char>((n >> shift) & 0xff));
    aad.append(part);
  }
  return aad;
}

std::string Where(std::string_view plugin, std::string_view office, std::string_view key) {
  return std::string(plugin) + "/" + std::string(office) + "/" + std::string(key);
}

}  // namespace

bool IsSealedValue(std::string_view stored) { return stored.substr(0, kMarker.size()) == kMarker; }

absl::StatusOr<std::unique_ptr<SealingStore>> SealingStore::Create(std::unique_ptr<Store> inner,
                                                                   SealingKeyring keys) {
  if (keys.signing_id.empty() || keys.secrets.count(keys.signing_id) == 0) {
    return absl::InvalidArgumentError("keys.sealing: the key in use is not configured");
  }
  for (const auto& [office, id] : keys.office_ids) {
    if (keys.secrets.count(id) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("office ", office, ": its sealing key ", id, " is not configured"));
    }
  }
  std::map<std::string, std::string> aes_keys;
  for (const auto& [id, secret] : keys.secrets) {
    if (id.empty() || id.size() > 255) {
      return absl::InvalidArgumentError("a sealing key id must be 1 to 255 bytes");
    }
    if (secret.size() < kMinSecretBytes) {
      return absl::InvalidArgumentError("sealing key " + id + ": at least 32 bytes");
    }
    aes_keys[id] = AesKeyOf(secret);
  }
  return std::unique_ptr<SealingStore>(
      new SealingStore(std::move(inner), std::move(keys), std::move(aes_keys)));
}

SealingStore::SealingStore(std::unique_ptr<Store> inner, SealingKeyring keys,
                           std::map<std::string, std::string> aes_keys)
    : inner_(std::move(inner)), keys_(std::move(keys)), aes_keys_(std::move(aes_keys)) {}

const std::string& SealingStore::IdFor(std::string_view office) const {
  auto own = keys_.office_ids.find(std::string(office));
  return own == keys_.office_ids.end() ? keys_.signing_id : own->second;
}

std::string SealingStore::Seal(std::string_view plugin, std::string_view office,
                               std::string_view key, std::string_view value) const {
  const std::string& id = IdFor(office);
  std::string out(kMarker);
  out.push_back(static_cast<char>(id.size()));
  out.append(id);
  out.append(plugins::AesGcmSeal(aes_keys_.at(id), value, BoundTo(plugin, office, key)));
  return out;
}

absl::StatusOr<std::string> SealingStore::Open(std::string_view plugin, std::string_view office,
                                               std::string_view key, std::string_view stored,
                                               std::string* key_id) const {
  auto refuse = [&](std::string_view why) {
    return absl::DataLossError("stored value " + Where(plugin, office, key) + ": " +
                               std::string(why));
  };
  if (!IsSealedValue(stored)) {
    return refuse("in clear, where the engine keeps every value sealed (written around it?)");
  }
  stored.remove_prefix(kMarker.size());
  if (stored.empty() || stored.size() < size_t{1} + static_cast<unsigned char>(stored[0])) {
    return refuse("a sealed value cut short");
  }
  size_t id_size = static_cast<unsigned char>(stored[0]);
  std::string id(stored.substr(1, id_size));
  if (key_id != nullptr) *key_id = id;
  auto aes_key = aes_keys_.find(id);
  if (aes_key == aes_keys_.end()) {
    return refuse("sealed under key " + id +
                  ", which the configuration does not name (keys.sealing_retired?)");
  }
  auto plain = plugins::AesGcmOpen(aes_key->second, stored.substr(1 + id_size),
                                   BoundTo(plugin, office, key));
  if (!plain.ok()) return refuse("does not open under key " + id + " (altered, or moved)");
  return plain;
}

absl::StatusOr<std::string> SealingStore::Get(std::string_view plugin, std::string_view office,
                                              std::string_view key) {
  auto stored = inner_->Get(plugin, office, key);
  if (!stored.ok()) return stored.status();
  return Open(plugin, office, key, *stored);
}

absl::Status SealingStore::Put(std::string_view plugin, std::string_view office,
                               std::string_view key, std::string_view value) {
  return inner_->Put(plugin, office, key, Seal(plugin, office, key, value));
}

absl::Status SealingStore::Delete(std::string_view plugin, std::string_view office,
                                  std::string_view key) {
  return inner_->Delete(plugin, office, key);
}

absl::Status SealingStore::List(
    std::string_view plugin, std::string_view office, std::string_view prefix,
    const std::function<void(std::string_view key, std::string_view value)>& each) {
  std::vector<std::pair<std::string, std::string>> rows;
  absl::Status opened;
  absl::Status listed =
      inner_->List(plugin, office, prefix, [&](std::string_view key, std::string_view stored) {
        if (!opened.ok()) return;
        auto plain = Open(plugin, office, key, stored);
        if (plain.ok()) {
          rows.emplace_back(key, *std::move(plain));
        } else {
          opened = plain.status();
        }
      });
  if (!listed.ok()) return listed;
  if (!opened.ok()) return opened;  // all or nothing: a caller never sees a list with holes
  for (const auto& [key, value] : rows) each(key, value);
  return absl::OkStatus();
}

absl::StatusOr<VersionedValue> SealingStore::GetVersioned(std::string_view plugin,
                                                          std::string_view office,
                                                          std::string_view key) {
  auto stored = inner_->GetVersioned(plugin, office, key);
  if (!stored.ok()) return stored.status();
  auto plain = Open(plugin, office, key, stored->value);
  if (!plain.ok()) return plain.status();
  return VersionedValue{*std::move(plain), stored->version};
}

absl::StatusOr<int64_t> SealingStore::PutIf(std::string_view plugin, std::string_view office,
                                            std::string_view key, std::string_view value,
                                            int64_t expected_version) {
  return inner_->PutIf(plugin, office, key, Seal(plugin, office, key, value), expected_version);
}

absl::Status SealingStore::AppendAudit(const AuditRecord& record) {
  return inner_->AppendAudit(record);
}

absl::Status SealingStore::ScanAudit(const std::function<bool(const StoredAuditRecord&)>& each) {
  return inner_->ScanAudit(each);
}

absl::StatusOr<AuditHead> SealingStore::AuditChainHead() { return inner_->AuditChainHead(); }

absl::Status SealingStore::ListNamespaces(
    const std::function<void(std::string_view plugin, std::string_view office)>& each) {
  return inner_->ListNamespaces(each);
}

absl::Status SealingStore::Compact() { return inner_->Compact(); }

absl::Status SealingStore::Ping() { return inner_->Ping(); }

absl::StatusOr<ResealCounts> SealingStore::Reseal(bool rekey) {
  std::vector<std::pair<std::string, std::string>> namespaces;
  absl::Status s = inner_->ListNamespaces([&](std::string_view plugin, std::string_view office) {
    namespaces.emplace_back(plugin, office);
  });
  if (!s.ok()) return s;
  ResealCounts counts;
  for (const auto& [plugin, office] : namespaces) {
    // The keys to look at again, by version: every one for a rekey; else those in clear (what a
    // start finds sealed is left unopened, so a start costs one read of the values).
    std::vector<std::string> keys;
    s = inner_->List(plugin, office, "", [&](std::string_view key, std::string_view stored) {
      if (rekey || !IsSealedValue(stored)) {
        keys.emplace_back(key);
      } else {
        ++counts.examined;
        ++counts.unchanged;
      }
    });
    if (!s.ok()) return s;
    for (const auto& key : keys) {
      auto stored = inner_->GetVersioned(plugin, office, key);
      if (absl::IsNotFound(stored.status())) continue;  // deleted meanwhile
      if (!stored.ok()) return stored.status();
      ++counts.examined;
      std::string plain;
      bool clear = !IsSealedValue(stored->value);
      if (clear) {
        plain = std::move(stored->value);
      } else {
        std::string id;
        auto opened = Open(plugin, office, key, stored->value, &id);
        if (!opened.ok()) {
          ++counts.unreadable;
          if (counts.first_unreadable.empty()) {
            counts.first_unreadable = std::string(opened.status().message());
          }
          continue;
        }
        if (!rekey || id == IdFor(office)) {
          ++counts.unchanged;
          continue;
        }
        plain = *std::move(opened);
      }
      auto written =
          inner_->PutIf(plugin, office, key, Seal(plugin, office, key, plain), stored->version);
      if (absl::IsAborted(written.status())) {
        ++counts.raced;  // its new value was written through a sealing store
      } else if (!written.ok()) {
        return written.status();
      } else {
        ++(clear ? counts.sealed : counts.resealed);
      }
    }
  }
  if (counts.sealed + counts.resealed > 0) {
    if (s = inner_->Compact(); !s.ok()) return s;
  }
  return counts;
}

}  // namespace kaigo::engine

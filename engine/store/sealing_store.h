// Plugin values sealed at rest: a Store that seals every value a plugin writes with AES-256-GCM
// (plugins/common/aes_gcm) on its way to the real store and opens it on the way back. The host
// cannot tell which values hold personal data (registration details, OTPs, subsidy forms, care-plan
// files…), so it seals them all; keys stay in clear (plugins put no personal value in a key) and
// the audit log passes through unchanged (its records carry keyed references, not personal data).
//
// A sealed value is laid out
//   "\0KS1" | id length (1 byte) | key id | nonce (12) | ciphertext | tag (16)
// with (plugin, office, key) bound as additional data, so a value copied to another key, plugin
// or office does not open. The key is the office's own (OfficeConfig.sealing_key) or the engine's
// (keys.sealing); retired keys still open what they sealed. A value without the marker is refused
// (DATA_LOSS): an engine seals every clear value at start (Reseal), so one found later was written
// around the engine.
//
//   auto store = SealValues(*std::move(raw), keyring);
//   auto counts = store->Reseal(/*rekey=*/false);  // at start: seal what is still in clear
//
// Thread-safe, as the store it wraps.
#ifndef KAIGO_ENGINE_STORE_SEALING_STORE_H_
#define KAIGO_ENGINE_STORE_SEALING_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/store/store.h"

namespace kaigo::engine {

// The keys values are sealed and opened with.
struct SealingKeyring {
  std::string signing_id;                         // the engine's key: new values of most offices
  std::map<std::string, std::string> office_ids;  // office → its own key's id
  std::map<std::string, std::string> secrets;     // id → secret (≥ 32 bytes): every key above
                                                  // and the retired ones
};

// What Reseal did, value by value.
struct ResealCounts {
  int64_t examined = 0;
  int64_t sealed = 0;      // were in clear, now sealed
  int64_t resealed = 0;    // were sealed under another key, now under the office's current one
  int64_t unchanged = 0;   // already as wanted
  int64_t raced = 0;       // written by someone else meanwhile (sealed by that write): left alone
  int64_t unreadable = 0;  // sealed under a key the keyring lacks, or altered: left alone
  std::string first_unreadable;  // "plugin/office/key: why", for the operator
};

class SealingStore : public Store {
 public:
  // INVALID_ARGUMENT when a named key is missing from `keys.secrets` or a secret is short.
  static absl::StatusOr<std::unique_ptr<SealingStore>> Create(std::unique_ptr<Store> inner,
                                                              SealingKeyring keys);

  // Seals every value still in clear; with `rekey` also re-seals every value sealed under a key
  // other than its office's current one (and only then opens the sealed ones: `unreadable` counts
  // only in a rekey). Compare-and-set on each value's version, so a write made
  // meanwhile is never overwritten: safe while engines run. Compacts the store (Store::Compact)
  // when it changed anything, so the clear copies leave the files. Idempotent.
  absl::StatusOr<ResealCounts> Reseal(bool rekey);

  // The store's raw bytes for tests and tools; values here are sealed.
  Store& inner() { return *inner_; }

  absl::StatusOr<std::string> Get(std::string_view plugin, std::string_view office,
                                  std::string_view key) override;
  absl::Status Put(std::string_view plugin, std::string_view office, std::string_view key,
                   std::string_view value) override;
  absl::Status Delete(std::string_view plugin, std::string_view office,
                      std::string_view key) override;
  absl::Status List(
      std::string_view plugin, std::string_view office, std::string_view prefix,
      const std::function<void(std::string_view key, std::string_view value)>& each) override;
  absl::StatusOr<VersionedValue> GetVersioned(std::string_view plugin, std::string_view office,
                                              std::string_view key) override;
  absl::StatusOr<int64_t> PutIf(std::string_view plugin, std::string_view office,
                                std::string_view key, std::string_view value,
                                int64_t expected_version) override;
  absl::Status AppendAudit(const AuditRecord& record) override;
  absl::Status ScanAudit(const std::function<bool(const StoredAuditRecord&)>& each) override;
  absl::StatusOr<AuditHead> AuditChainHead() override;
  absl::Status ListNamespaces(
      const std::function<void(std::string_view plugin, std::string_view office)>& each) override;
  absl::Status Compact() override;
  absl::Status Ping() override;

 private:
  SealingStore(std::unique_ptr<Store> inner, SealingKeyring keys,
               std::map<std::string, std::string> aes_keys);

  // The key id new values of `office` are sealed under.
  const std::string& IdFor(std::string_view office) const;
  std::string Seal(std::string_view plugin, std::string_view office, std::string_view key,
                   std::string_view value) const;
  // DATA_LOSS naming the key when `stored` is not sealed, sealed under an unknown key, or does not
  // open; `*key_id` receives the id it names.
  absl::StatusOr<std::string> Open(std::string_view plugin, std::string_view office,
                                   std::string_view key, std::string_view stored,
                                   std::string* key_id = nullptr) const;

  std::unique_ptr<Store> inner_;
  const SealingKeyring keys_;
  const std::map<std::string, std::string> aes_keys_;  // id → 32-byte key derived from its secret
};

// Whether `stored` carries the seal's marker (for tests and tools that look at raw values).
bool IsSealedValue(std::string_view stored);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_STORE_SEALING_STORE_H_

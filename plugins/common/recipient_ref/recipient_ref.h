// The reference to a recipient that audit records (and care-plan evidence) carry instead of
// personal values: "r:" + the first 12 bytes, in hex, of HMAC-SHA-256("insurer:insured") under
// the engine's recipient-reference key (configuration keys.recipient_ref), which the host lends as
// the secret sdk::kRecipientRefSecret and never keeps in its store. The same recipient maps to the
// same reference in every plugin and office, so `kaigo-bridge audit search` finds every access;
// a reference reveals nothing without the key (a reader of the database cannot try the 10-digit
// 被保険者番号 space against it).
//
// Before the engine lent a key, each (plugin, office) kept a random key in its store
// ("audit-ref-key"); a host that lends none (older engines) still gets that. AllOf also answers
// the reference under such a kept key, so records and evidence written then are still found.
//
// Thread-safe; the first call reads the key.
#ifndef KAIGO_PLUGINS_COMMON_RECIPIENT_REF_RECIPIENT_REF_H_
#define KAIGO_PLUGINS_COMMON_RECIPIENT_REF_RECIPIENT_REF_H_

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kaigo/sdk/host_services.h"

namespace kaigo::plugins {

// The reference of (insurer, insured) under `key`.
std::string RecipientRefUnder(std::string_view key, std::string_view insurer,
                              std::string_view insured);

class RecipientRefs {
 public:
  explicit RecipientRefs(const sdk::HostServices& host) : host_(host) {}
  std::string Of(const std::string& insurer, const std::string& insured);
  // Of(), then the reference under the key this plugin's store kept before the engine lent one.
  std::vector<std::string> AllOf(const std::string& insurer, const std::string& insured);

 private:
  void Load();

  const sdk::HostServices& host_;
  std::mutex mu_;
  bool loaded_ = false;
  std::string key_;
  std::optional<std::string> kept_key_;  // the store's "audit-ref-key", if any
};

}  // namespace kaigo::plugins

#endif  // KAIGO_PLUGINS_COMMON_RECIPIENT_REF_RECIPIENT_REF_H_

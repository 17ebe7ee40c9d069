// The reference to a recipient that audit records carry instead of personal values:
// "r:" + HMAC-SHA256(insurer ":" insured) under a random per-(plugin, office) key kept in the host
// store. The same recipient always maps to the same reference, which reveals nothing without the
// key. Thread-safe; the first call reads (or creates) the key in the store.
#ifndef KAIGO_PLUGINS_COMMON_RECIPIENT_REF_RECIPIENT_REF_H_
#define KAIGO_PLUGINS_COMMON_RECIPIENT_REF_RECIPIENT_REF_H_

#include <mutex>
#include <string>

#include "kaigo/sdk/host_services.h"

namespace kaigo::plugins {

class RecipientRefs {
 public:
  explicit RecipientRefs(const sdk::HostServices& host) : host_(host) {}
  std::string Of(const std::string& insurer, const std::string& insured);

 private:
  const sdk::HostServices& host_;
  std::mutex mu_;
  std::string key_;
};

}  // namespace kaigo::plugins

#endif  // KAIGO_PLUGINS_COMMON_RECIPIENT_REF_RECIPIENT_REF_H_

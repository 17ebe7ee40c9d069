// Identification by My Number card: the platform's single-use challenge, signed by the card
// through the office's card reader concern (whichever plugin the office binds to it), ready to be
// posted with the request that rests on it. Blocks: call from a BlockingUnary handler.
#ifndef KAIGO_PLUGINS_COMMON_CARD_PROOF_H_
#define KAIGO_PLUGINS_COMMON_CARD_PROOF_H_

#include <string>

#include "absl/status/statusor.h"
#include "kaigo/sdk/host_services.h"
#include "nlohmann/json.hpp"
#include "platform_connection.h"

namespace kaigo::plugins {

// {"challenge", "certificate", "signature"} in base64, as the platform's card endpoints take them.
// The card reader concern's errors (wrong PIN, card removed, …) come back unchanged.
absl::StatusOr<nlohmann::json> ProveCardHolder(const sdk::HostServices& host,
                                               const sdk::CallBase& call,
                                               const platform::CallClient& client,
                                               const std::string& reader, const std::string& pin);

}  // namespace kaigo::plugins

#endif  // KAIGO_PLUGINS_COMMON_CARD_PROOF_H_

#include "card_proof.h"

#include "absl/strings/escaping.h"
#include "kaigo/v1/card_reader.pb.h"
#include "platform_json.h"

namespace kaigo::plugins {

absl::StatusOr<nlohmann::json> ProveCardHolder(const sdk::HostServices& host,
                                               const sdk::CallBase& call,
                                               const platform::CallClient& client,
                                               const std::string& reader, const std::string& pin) {
  auto issued = client.Get("/api/v1/card/challenge");
  if (!issued.ok()) return issued.status();
  nlohmann::json answer = nlohmann::json::parse(issued->body, nullptr, false);
  std::string challenge;
  if (!answer.is_object() ||
      !absl::Base64Unescape(platform::JsonString(answer, "challenge"), &challenge) ||
      challenge.empty()) {
    return absl::UnavailableError("the platform's challenge is not understood");
  }
  kaigo::v1::AuthenticateHolderRequest authenticate;
  authenticate.set_reader(reader);
  authenticate.set_pin(pin);
  authenticate.set_challenge(challenge);
  absl::StatusOr<kaigo::v1::AuthenticateHolderResponse> signed_by_card =
      host.CallUnaryAndWait<kaigo::v1::AuthenticateHolderResponse>(
          call, "/kaigo.v1.CardReaderService/AuthenticateHolder", authenticate);
  if (!signed_by_card.ok()) return signed_by_card.status();
  const kaigo::v1::HolderAuthentication& holder = signed_by_card->authentication();
  return nlohmann::json{{"challenge", absl::Base64Escape(challenge)},
                        {"certificate", absl::Base64Escape(holder.certificate())},
                        {"signature", absl::Base64Escape(holder.signature())}};
}

}  // namespace kaigo::plugins

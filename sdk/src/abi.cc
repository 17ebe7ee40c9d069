#include "kaigo/sdk/abi.h"

#include "absl/strings/cord.h"
#include "kaigo/sdk/error_details.h"

namespace kaigo::sdk {

kaigo_sink StringSink(std::string* out) {
  return kaigo_sink{out, [](void* ctx, const uint8_t* data, size_t size) {
                      static_cast<std::string*>(ctx)->append(reinterpret_cast<const char*>(data),
                                                             size);
                    }};
}

absl::Status FromKaigoCode(int32_t code, std::string_view message) {
  if (code < 0 || code > KAIGO_CODE_UNAUTHENTICATED) code = KAIGO_CODE_UNKNOWN;
  return absl::Status(static_cast<absl::StatusCode>(code),
                      absl::string_view(message.data(), message.size()));
}

absl::Status FromKaigoStatus(const kaigo_status& status) {
  return WithSerializedDetails(FromKaigoCode(status.code, FromStr(status.message)),
                               FromBytes(status.details));
}

kaigo_status ToKaigoStatus(const absl::Status& status) {
  kaigo_bytes details{nullptr, 0};
  // The payload is a serialized google.rpc.Status set whole from one string (error_details.cc),
  // so it is flat; borrowed from the status like the message.
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    if (url != absl::string_view(kStatusDetailsPayload)) return;
    if (auto flat = payload.TryFlat())
      details = ToBytes(std::string_view(flat->data(), flat->size()));
  });
  return kaigo_status{static_cast<int32_t>(status.code()),
                      kaigo_str{status.message().data(), status.message().size()}, details};
}

}  // namespace kaigo::sdk

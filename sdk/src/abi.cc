#include "kaigo/sdk/abi.h"

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
  return FromKaigoCode(status.code, FromStr(status.message));
}

kaigo_status ToKaigoStatus(const absl::Status& status) {
  return kaigo_status{static_cast<int32_t>(status.code()),
                      kaigo_str{status.message().data(), status.message().size()},
                      kaigo_bytes{nullptr, 0}};
}

}  // namespace kaigo::sdk

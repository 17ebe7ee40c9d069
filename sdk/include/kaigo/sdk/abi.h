// Conversions between the C ABI's plain types (kaigo/plugin.h) and C++ ones. Used by both sides
// of the boundary. Stateless; thread-safe.
#ifndef KAIGO_SDK_ABI_H_
#define KAIGO_SDK_ABI_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "kaigo/plugin.h"

namespace kaigo::sdk {

inline kaigo_str ToStr(std::string_view s) { return kaigo_str{s.data(), s.size()}; }
inline std::string_view FromStr(kaigo_str s) {
  return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.size);
}
inline kaigo_bytes ToBytes(std::string_view s) {
  return kaigo_bytes{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view FromBytes(kaigo_bytes b) {
  return b.data == nullptr ? std::string_view()
                           : std::string_view(reinterpret_cast<const char*>(b.data), b.size);
}

// A kaigo_sink that appends to a std::string. The string must outlive the sink.
kaigo_sink StringSink(std::string* out);

// Builds an absl::Status from an ABI status (code outside 0..16 becomes UNKNOWN), with its details
// (error_details.h).
absl::Status FromKaigoStatus(const kaigo_status& status);
absl::Status FromKaigoCode(int32_t code, std::string_view message);

// A kaigo_status that borrows `status`'s message and details; valid while `status` lives and is
// not changed.
kaigo_status ToKaigoStatus(const absl::Status& status);

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_ABI_H_

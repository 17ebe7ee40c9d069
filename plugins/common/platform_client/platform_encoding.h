// Encodings of the platform's web API: path and query components, and the hex SHA-256 it lists
// for files and documents. Pure; thread-safe.
#ifndef KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_ENCODING_H_
#define KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_ENCODING_H_

#include <string>
#include <string_view>

namespace kaigo::platform {

// RFC 3986 percent-encoding of everything but unreserved characters (A–Z a–z 0–9 - _ . ~).
std::string PercentEncode(std::string_view text);
// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace kaigo::platform

#endif  // KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_PLATFORM_ENCODING_H_

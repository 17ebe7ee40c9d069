// Identifiers plugins hand out (flows, requests, drafts): `bytes` random bytes from OpenSSL's
// CSPRNG as lower-case hex, so they cannot be guessed. Thread-safe.
#ifndef KAIGO_PLUGINS_COMMON_RANDOM_ID_RANDOM_ID_H_
#define KAIGO_PLUGINS_COMMON_RANDOM_ID_RANDOM_ID_H_

#include <string>

namespace kaigo::plugins {

std::string RandomHex(int bytes);

}  // namespace kaigo::plugins

#endif  // KAIGO_PLUGINS_COMMON_RANDOM_ID_RANDOM_ID_H_

#include "random_id.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"

namespace kaigo::plugins {

std::string RandomHex(int bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  return absl::BytesToHexString(raw);
}

}  // namespace kaigo::plugins

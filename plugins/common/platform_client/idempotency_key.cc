#include "idempotency_key.h"

#include <openssl/rand.h>

#include <cstdint>

#include "absl/strings/escaping.h"
#include "platform_encoding.h"

namespace kaigo::platform {

namespace {

constexpr size_t kMaxVerbatim = 128;

bool Verbatim(std::string_view reference) {
  if (reference.empty() || reference.size() > kMaxVerbatim) return false;
  for (char c : reference) {
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

IdempotencyKey IdempotencyKey::FromClientReference(std::string_view reference) {
  if (Verbatim(reference)) return IdempotencyKey(std::string(reference));
  return IdempotencyKey("ref-" + Sha256Hex(reference));
}

IdempotencyKey IdempotencyKey::Derived(std::string_view office, std::string_view operation,
                                       absl::Span<const std::string_view> parts) {
  std::string framed;
  auto add = [&framed](std::string_view part) {
    uint64_t size = part.size();
    for (int i = 0; i < 8; ++i) framed.push_back(static_cast<char>(size >> (8 * i)));
    framed.append(part);
  };
  add(office);
  add(operation);
  for (std::string_view part : parts) add(part);
  return IdempotencyKey("d-" + Sha256Hex(framed));
}

IdempotencyKey IdempotencyKey::Fresh() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  return IdempotencyKey("f-" + absl::BytesToHexString(absl::string_view(
                                   reinterpret_cast<char*>(bytes), sizeof bytes)));
}

std::string IdempotencyKey::Header() const { return "Idempotency-Key: " + value_; }

}  // namespace kaigo::platform

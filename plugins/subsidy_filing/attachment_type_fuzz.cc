#include <cstddef>
#include <cstdint>
#include <string_view>

#include "attachment_type.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto type = kaigo::plugins::subsidy::DetectFileType(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!type.ok() && type.status().message().empty()) __builtin_trap();  // errors always explain
  return 0;
}

// Fuzz target: the platform's login, refresh and error answers as the platform client reads them
// (outside input: a broken or hostile platform must cost one call, never the engine).
#include <cstddef>
#include <cstdint>
#include <string>

#include "platform_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto tokens = kaigo::platform::ParseTokens(body);
  if (tokens.ok() && tokens->access.empty()) __builtin_trap();
  (void)kaigo::platform::ErrorMessageOf(body);
  (void)kaigo::platform::ParseAnswer(body, "platform", [](const nlohmann::json&) {
    return absl::FailedPreconditionError("business");
  });
  return 0;
}

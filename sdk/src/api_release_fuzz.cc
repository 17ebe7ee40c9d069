// libFuzzer target: NeededLibraries reads plugin images before they are loaded.
// Invariants: no crash, no read outside the input; every name it returns came from the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kaigo/sdk/api_release.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view image(reinterpret_cast<const char*>(data), size);
  auto needed = kaigo::sdk::NeededLibraries(image);
  if (needed.ok()) {
    for (const auto& name : *needed) {
      if (name.size() > size) abort();
    }
  }
  return 0;
}

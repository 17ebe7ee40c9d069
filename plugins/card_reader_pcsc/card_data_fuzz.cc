#include <cstddef>
#include <cstdint>
#include <string_view>

#include "card_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  using namespace kaigo::plugins::card;
  (void)SplitResponse(input);
  if (auto total = TlvTotalLength(input); total.ok() && *total < 2)
    __builtin_trap();  // tag + length
  if (auto tlvs = ParseTlvs(input); tlvs.ok()) {
    size_t covered = 0;
    for (const auto& t : *tlvs) covered += t.tag.size() + t.value.size();
    if (covered > size) __builtin_trap();  // parts never exceed the input
  }
  (void)ParseMyNumber(input);
  (void)ParseBasicFour(input);
  return 0;
}

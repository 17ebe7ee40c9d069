#include <cstddef>
#include <cstdint>
#include <string>

#include "exchange_answers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  namespace c = kaigo::plugins::careplan;
  (void)c::ParseSent(body);
  (void)c::ParseSentList(body);
  (void)c::ParseReceivedList(body);
  (void)c::ParseAcknowledged(body);
  (void)c::ParseReceipt(body);
  (void)c::BusinessError(body);
  return 0;
}

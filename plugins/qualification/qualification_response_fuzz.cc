// libFuzzer target: the platform's insured-certificate answer is outside input. Invariants: no
// crash, no exception, no hang; a success carries a verdict.
#include <cstdlib>
#include <string_view>

#include "qualification_result.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto result = kaigo::plugins::qualification::ParseInsuredCertificate(body, "2026-11-24");
  if (result.ok() && result->verdict() == kaigo::v1::QUALIFICATION_VERDICT_UNSPECIFIED) abort();
  return 0;
}

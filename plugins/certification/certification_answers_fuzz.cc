// libFuzzer target: the platform's certification answers are outside input. Invariant: no crash,
// no exception, no hang.
#include <string_view>

#include "certification_answers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  kaigo::plugins::certification::ParseProgress(body).IgnoreError();
  kaigo::plugins::certification::ParseDocuments(body).IgnoreError();
  return 0;
}

// The engine reads frames from an isolated plugin's process, which it does not trust.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/isolation/frame_channel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kaigo::engine::isolation::Frame frame;
  (void)kaigo::engine::isolation::ParseFrame(reinterpret_cast<const char*>(data), size, &frame);
  return 0;
}

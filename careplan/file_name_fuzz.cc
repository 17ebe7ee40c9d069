// Fuzzes ParseFileName on arbitrary input. Property: a name that parses formats to a name that
// parses to an equal FileName. (Not that it formats back to the input: a directory part is
// dropped, and so on.)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "careplan/file_name.h"
#include "google/protobuf/util/message_differencer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  auto name = kaigo::careplan::ParseFileName(input);
  if (!name.ok()) return 0;
  std::string formatted = kaigo::careplan::FormatFileName(*name);
  auto again = kaigo::careplan::ParseFileName(formatted);
  if (!again.ok()) {
    std::fprintf(stderr, "formatted name does not parse: %s\n",
                 std::string(again.status().message()).c_str());
    std::abort();
  }
  if (!google::protobuf::util::MessageDifferencer::Equals(*name, *again)) {
    std::fprintf(stderr, "formatted name parses differently:\n%s\n%s\n",
                 name->DebugString().c_str(), again->DebugString().c_str());
    std::abort();
  }
  return 0;
}

#include "kaigo/sdk/pagination.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/rpc/error_details.pb.h"
#include "kaigo/sdk/error_details.h"

namespace kaigo::sdk {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr char kTokenVersion[] = "p1";

const FieldDescriptor* Field(const Message& m, const char* name, FieldDescriptor::CppType type) {
  const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  return f != nullptr && f->cpp_type() == type && !f->is_repeated() ? f : nullptr;
}

// FNV-1a over the request's deterministic serialization without its page fields: stable across
// processes and builds (a token is a position, not a secret; the caller may see the whole list).
uint64_t Fingerprint(const Message& request) {
  std::unique_ptr<Message> copy(request.New());
  copy->CopyFrom(request);
  const google::protobuf::Reflection* r = copy->GetReflection();
  for (const char* name : {"page_size", "page_token"}) {
    if (const FieldDescriptor* f = copy->GetDescriptor()->FindFieldByName(name)) {
      r->ClearField(copy.get(), f);
    }
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string TokenFor(size_t position, uint64_t fingerprint) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kTokenVersion, ":", position, ":", absl::Hex(fingerprint)));
}

absl::Status BadToken(const std::string& why) {
  return InvalidField("page_token", "PAGE_TOKEN",
                      absl::StrCat("page_token: ", why,
                                   "; pass the next_page_token of the previous answer to the "
                                   "same request, or empty for the first page"));
}

}  // namespace

int PageSizeOf(const Message& request) {
  const FieldDescriptor* f = Field(request, "page_size", FieldDescriptor::CPPTYPE_INT32);
  int size = f == nullptr ? 0 : request.GetReflection()->GetInt32(request, f);
  if (size <= 0) return kDefaultPageSize;
  return std::min(size, kMaxPageSize);
}

absl::StatusOr<PageWindow> PageOf(const Message& request, size_t total) {
  const FieldDescriptor* size_field = Field(request, "page_size", FieldDescriptor::CPPTYPE_INT32);
  const FieldDescriptor* token_field =
      Field(request, "page_token", FieldDescriptor::CPPTYPE_STRING);
  if (size_field == nullptr || token_field == nullptr) {
    return absl::InternalError(absl::StrCat(request.GetTypeName(), " has no page fields"));
  }
  const google::protobuf::Reflection* r = request.GetReflection();
  if (r->GetInt32(request, size_field) < 0) {
    return InvalidField("page_size", "PAGE_SIZE",
                        "page_size: must not be negative (0: the default of 50)");
  }
  const uint64_t fingerprint = Fingerprint(request);
  size_t begin = 0;
  const std::string token = r->GetString(request, token_field);
  if (!token.empty()) {
    std::string text;
    if (token.size() > 128 || !absl::WebSafeBase64Unescape(token, &text)) {
      return BadToken("not a token this engine gave");
    }
    std::vector<std::string> parts = absl::StrSplit(text, ':');
    uint64_t position = 0, given = 0;
    if (parts.size() != 3 || parts[0] != kTokenVersion || !absl::SimpleAtoi(parts[1], &position) ||
        !absl::SimpleHexAtoi(parts[2], &given)) {
      return BadToken("not a token this engine gave");
    }
    if (given != fingerprint) return BadToken("it belongs to a request with other fields");
    begin = std::min<uint64_t>(position, total);
  }
  PageWindow window;
  window.begin = begin;
  window.end = std::min(total, begin + static_cast<size_t>(PageSizeOf(request)));
  if (window.end < total) window.next_page_token = TokenFor(window.end, fingerprint);
  return window;
}

}  // namespace kaigo::sdk

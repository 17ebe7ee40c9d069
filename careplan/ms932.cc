#include "careplan/ms932.h"

#include <iconv.h>

#include <cerrno>

#include "absl/strings/str_format.h"

namespace kaigo::careplan {
namespace {

bool IsLead(unsigned char c) { return (c >= 0x81 && c <= 0x9F) || (c >= 0xE0 && c <= 0xFC); }
bool IsTrail(unsigned char c) { return c >= 0x40 && c <= 0xFC && c != 0x7F; }
// Rows CP932 leaves empty.
bool IsUnassignedLead(unsigned char c) {
  return c == 0x85 || c == 0x86 || c == 0xEB || c == 0xEC || c == 0xEF;
}
bool MayBeDuplicate(unsigned char lead) {
  return lead == 0x87 || lead == 0xED || lead == 0xEE || lead >= 0xFA;
}

class Converter {
 public:
  Converter(const char* to, const char* from) : cd_(iconv_open(to, from)) {}
  ~Converter() {
    if (cd_ != reinterpret_cast<iconv_t>(-1)) iconv_close(cd_);
  }
  // On failure, *failed_at is the input offset iconv stopped at.
  bool Run(absl::string_view in, std::string* out, size_t* failed_at) {
    out->clear();
    if (cd_ == reinterpret_cast<iconv_t>(-1)) {
      *failed_at = 0;
      return false;
    }
    iconv(cd_, nullptr, nullptr, nullptr, nullptr);
    out->resize(in.size() * 2 + 8);
    char* src = const_cast<char*>(in.data());
    size_t src_left = in.size();
    size_t used = 0;
    while (true) {
      char* dst = out->data() + used;
      size_t dst_left = out->size() - used;
      size_t r = iconv(cd_, &src, &src_left, &dst, &dst_left);
      used = out->size() - dst_left;
      if (r != static_cast<size_t>(-1)) break;
      if (errno == E2BIG) {
        out->resize(out->size() * 2);
        continue;
      }
      *failed_at = in.size() - src_left;
      return false;
    }
    out->resize(used);
    return true;
  }

 private:
  iconv_t cd_;
};

Converter& ToUtf8() {
  thread_local Converter c("UTF-8", "CP932");
  return c;
}
Converter& FromUtf8() {
  thread_local Converter c("CP932", "UTF-8");
  return c;
}

// The code point starting at `at` in UTF-8 `text` and its bytes, for messages.
std::string DescribeCodePoint(absl::string_view text, size_t at) {
  unsigned char c = static_cast<unsigned char>(text[at]);
  size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (at + n > text.size()) return "an incomplete UTF-8 sequence";
  uint32_t cp = n == 1 ? c : c & (0x7F >> n);
  for (size_t i = 1; i < n; ++i) cp = (cp << 6) | (static_cast<unsigned char>(text[at + i]) & 0x3F);
  return absl::StrFormat("U+%04X (%s)", cp, text.substr(at, n));
}

}  // namespace

bool IsAscii(absl::string_view bytes) {
  for (char c : bytes) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

Ms932Scan ScanMs932(absl::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  Ms932Scan duplicate;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = p[i];
    if (c < 0x80 || (c >= 0xA1 && c <= 0xDF)) continue;
    if (!IsLead(c) || i + 1 >= n || !IsTrail(p[i + 1]) || IsUnassignedLead(c)) {
      return {Ms932Issue::kInvalid, i};
    }
    if (c >= 0xF0 && c <= 0xF9) return {Ms932Issue::kGaiji, i};
    if (duplicate.issue == Ms932Issue::kNone && MayBeDuplicate(c)) {
      std::string utf8, back;
      size_t failed = 0;
      absl::string_view one = bytes.substr(i, 2);
      if (!ToUtf8().Run(one, &utf8, &failed)) return {Ms932Issue::kInvalid, i};
      if (!FromUtf8().Run(utf8, &back, &failed) || back != one) {
        duplicate = {Ms932Issue::kDuplicate, i};
      }
    }
    ++i;
  }
  return duplicate;
}

absl::StatusOr<std::string> Ms932ToUtf8(absl::string_view bytes) {
  std::string out;
  size_t failed = 0;
  if (!ToUtf8().Run(bytes, &out, &failed)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("byte %d: not an MS932 character", failed + 1));
  }
  return out;
}

absl::StatusOr<std::string> Utf8ToMs932(absl::string_view text) {
  std::string out;
  size_t failed = 0;
  if (!FromUtf8().Run(text, &out, &failed)) {
    return absl::InvalidArgumentError(
        absl::StrCat(DescribeCodePoint(text, failed), " has no MS932 form"));
  }
  return out;
}

}  // namespace kaigo::careplan

#include "careplan/ms932.h"

#include <iconv.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

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

// The length of the ASCII prefix of [p, p + n): eight bytes at a time, then byte by byte.
size_t AsciiPrefix(const unsigned char* p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    memcpy(&word, p + i, 8);
    if (word & 0x8080808080808080ULL) break;
  }
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

// What a round trip through Unicode does to a two-byte character.
enum class RoundTrip : unsigned char { kSame, kNoUnicode, kOtherCode };

// The round trip of every character whose lead byte MayBeDuplicate, through the same iconv
// conversions as Ms932ToUtf8 and Utf8ToMs932, worked out once per process (6 rows × 256).
class DuplicateRows {
 public:
  static const DuplicateRows& Get() {
    static const DuplicateRows rows;
    return rows;
  }
  RoundTrip Of(unsigned char lead, unsigned char trail) const { return rows_[Row(lead)][trail]; }

 private:
  static constexpr unsigned char kLeads[] = {0x87, 0xED, 0xEE, 0xFA, 0xFB, 0xFC};
  static int Row(unsigned char lead) {
    return lead == 0x87 ? 0 : lead <= 0xEE ? lead - 0xEC : lead - 0xF7;
  }

  DuplicateRows() {
    for (unsigned char lead : kLeads) {
      for (int trail = 0; trail < 256; ++trail) {
        char pair[2] = {static_cast<char>(lead), static_cast<char>(trail)};
        absl::string_view one(pair, 2);
        std::string utf8, back;
        size_t failed = 0;
        RoundTrip& r = rows_[Row(lead)][trail];
        if (!ToUtf8().Run(one, &utf8, &failed)) {
          r = RoundTrip::kNoUnicode;
        } else if (!FromUtf8().Run(utf8, &back, &failed) || back != one) {
          r = RoundTrip::kOtherCode;
        } else {
          r = RoundTrip::kSame;
        }
      }
    }
  }

  RoundTrip rows_[6][256];
};

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
  return AsciiPrefix(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()) ==
         bytes.size();
}

namespace {

// What a byte at the start of a character is, from the tests above, in one lookup.
enum ByteClass : uint8_t { kSingle, kLead, kLeadGaiji, kLeadMaybeDuplicate, kNotAStart };

struct ByteTables {
  ByteClass start[256];
  bool trail[256];
  ByteTables() {
    for (int c = 0; c < 256; ++c) {
      auto b = static_cast<unsigned char>(c);
      trail[c] = IsTrail(b);
      if (b < 0x80 || (b >= 0xA1 && b <= 0xDF)) {
        start[c] = kSingle;
      } else if (!IsLead(b) || IsUnassignedLead(b)) {
        start[c] = kNotAStart;
      } else if (b >= 0xF0 && b <= 0xF9) {
        start[c] = kLeadGaiji;
      } else {
        start[c] = MayBeDuplicate(b) ? kLeadMaybeDuplicate : kLead;
      }
    }
  }
};

const ByteTables& Tables() {
  static const ByteTables* tables = new ByteTables();
  return *tables;
}

}  // namespace

Ms932Scan ScanMs932(absl::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  const ByteTables& t = Tables();
  Ms932Scan duplicate;
  for (size_t i = AsciiPrefix(p, n); i < n; ++i) {
    ByteClass kind = t.start[p[i]];
    if (kind == kSingle) continue;
    if (kind == kNotAStart || i + 1 >= n || !t.trail[p[i + 1]]) return {Ms932Issue::kInvalid, i};
    if (kind == kLeadGaiji) return {Ms932Issue::kGaiji, i};
    if (kind == kLeadMaybeDuplicate && duplicate.issue == Ms932Issue::kNone) {
      switch (DuplicateRows::Get().Of(p[i], p[i + 1])) {
        case RoundTrip::kSame:
          break;
        case RoundTrip::kNoUnicode:
          return {Ms932Issue::kInvalid, i};
        case RoundTrip::kOtherCode:
          duplicate = {Ms932Issue::kDuplicate, i};
          break;
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

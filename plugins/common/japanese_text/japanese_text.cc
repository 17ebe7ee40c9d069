#include "japanese_text.h"

#include <algorithm>

namespace kaigo::text {

bool DecodeUtf8(std::string_view text, std::vector<char32_t>* out) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t extra;
    char32_t cp;
    if (c < 0x80) {
      extra = 0, cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      cp = cp << 6 | (next & 0x3F);
    }
    out->push_back(cp);
    i += extra + 1;
  }
  return true;
}

int Characters(std::string_view text) {
  std::vector<char32_t> cps;
  return DecodeUtf8(text, &cps) ? static_cast<int>(cps.size()) : -1;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsFullWidthKatakana(std::string_view text) {
  std::vector<char32_t> cps;
  if (text.empty() || !DecodeUtf8(text, &cps)) return false;
  for (char32_t c : cps) {
    bool ok = (c >= 0x30A1 && c <= 0x30FA) || c == 0x30FC || c == 0x30FB || c == 0x3000 ||
              (c >= 0xFF10 && c <= 0xFF19) || (c >= 0xFF21 && c <= 0xFF3A) || c == 0xFF08 ||
              c == 0xFF09 || c == 0xFF0E || c == 0xFF0D || c == 0xFF0F;
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> KatakanaProblem(std::string_view text) {
  std::vector<char32_t> cps;
  if (text.empty()) return "required";
  if (!DecodeUtf8(text, &cps)) return "not valid UTF-8 text";
  if (IsFullWidthKatakana(text)) return std::nullopt;
  auto any = [&](char32_t lo, char32_t hi) {
    return std::any_of(cps.begin(), cps.end(), [&](char32_t c) { return c >= lo && c <= hi; });
  };
  if (any(0xFF61, 0xFF9F)) return "half-width ｶﾅ: write it in full-width カタカナ";
  if (any(0x3041, 0x309F)) return "ひらがな: write it in カタカナ";
  return "write it in full-width カタカナ (no kanji or half-width letters)";
}

std::optional<std::string> PhoneProblem(std::string_view phone) {
  if (phone.empty()) return "電話番号 is required";
  if (phone.find('-') != std::string_view::npos || phone.find("ー") != std::string_view::npos ||
      phone.find("－") != std::string_view::npos) {
    return "write the number without hyphens";
  }
  if (!AllDigits(phone)) return "only half-width digits 0-9 (no full-width digits, spaces or +81)";
  if (phone.size() < 10 || phone.size() > 11 || phone[0] != '0') {
    return "a Japanese number starting with 0, got " + std::to_string(phone.size()) + " digits";
  }
  return std::nullopt;
}

}  // namespace kaigo::text

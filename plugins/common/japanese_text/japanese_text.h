// The text rules Japanese forms share: UTF-8 decoding, half-width digits, full-width katakana
// (as フリガナ and 口座名義 are written), and the phone number the portal and the subsidy form take
// (half-width digits, no hyphens). Each check says what is wrong in words an office uses.
// Pure; thread-safe.
#ifndef KAIGO_PLUGINS_COMMON_JAPANESE_TEXT_JAPANESE_TEXT_H_
#define KAIGO_PLUGINS_COMMON_JAPANESE_TEXT_JAPANESE_TEXT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kaigo::text {

// Code points of UTF-8 `text`; false if it is not valid UTF-8.
bool DecodeUtf8(std::string_view text, std::vector<char32_t>* out);
// The number of characters, or -1 when not valid UTF-8.
int Characters(std::string_view text);
bool AllDigits(std::string_view s);  // non-empty, 0-9 only

// Full-width katakana, ー, ・, full-width space, and (for account holders) full-width digits,
// Latin capitals and （）．－／.
bool IsFullWidthKatakana(std::string_view text);
// Why `text` is not full-width katakana ("half-width ｶﾅ…", "ひらがな…"), or nullopt when it is.
std::optional<std::string> KatakanaProblem(std::string_view text);

// Why `phone` is not 10–11 half-width digits starting with 0 and without hyphens, or nullopt.
std::optional<std::string> PhoneProblem(std::string_view phone);
constexpr char kPhoneRule[] = "10 or 11 half-width digits, no hyphens";

}  // namespace kaigo::text

#endif  // KAIGO_PLUGINS_COMMON_JAPANESE_TEXT_JAPANESE_TEXT_H_

#include "kaigo/identifiers.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace kaigo {

namespace {

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A=10 … Z=32, skipping I, O and Q (never used in office numbers); -1 for anything else.
int OfficeCharValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c < 'A' || c > 'Z' || c == 'I' || c == 'O' || c == 'Q') return -1;
  int value = 10 + (c - 'A');
  if (c > 'I') --value;
  if (c > 'O') --value;
  if (c > 'Q') --value;
  return value;
}

// Modulus 10, weights 2,1,2,1… from the rightmost value, two-digit products split into digits.
int Modulus10Weights21(const int* values, size_t n) {
  int sum = 0;
  for (size_t i = 0; i < n; ++i) {
    int weight = (i % 2 == 0) ? 2 : 1;
    int product = values[n - 1 - i] * weight;
    while (product > 0) {
      sum += product % 10;
      product /= 10;
    }
  }
  return (10 - sum % 10) % 10;
}

// Quotes outside input for an error message, cut so a huge value cannot flood a log line.
std::string Shown(std::string_view s) {
  return absl::StrCat("\"", std::string(s.substr(0, 32)), s.size() > 32 ? "…" : "", "\"");
}

}  // namespace

char OfficeNumberCheckDigit(std::string_view first_nine) {
  if (first_nine.size() != 9) return '?';
  int values[9];
  for (size_t i = 0; i < 9; ++i) {
    values[i] = OfficeCharValue(first_nine[i]);
    if (values[i] < 0) return '?';
  }
  return static_cast<char>('0' + Modulus10Weights21(values, 9));
}

char InsurerNumberCheckDigit(std::string_view first_five) {
  if (first_five.size() != 5 || !AllDigits(first_five)) return '?';
  int values[5];
  for (size_t i = 0; i < 5; ++i) values[i] = first_five[i] - '0';
  return static_cast<char>('0' + Modulus10Weights21(values, 5));
}

absl::Status ValidateOfficeNumber(std::string_view n) {
  if (n.size() != 10) {
    return absl::InvalidArgumentError(
        absl::StrCat(Shown(n), " must be 10 characters (介護保険事業所番号), not ", n.size()));
  }
  if (!AllDigits(n.substr(0, 2)) || !AllDigits(n.substr(3))) {
    return absl::InvalidArgumentError(
        absl::StrCat(Shown(n), ": all but the 3rd character must be half-width digits"));
  }
  int prefecture = (n[0] - '0') * 10 + (n[1] - '0');
  if (prefecture < 1 || prefecture > 47) {
    return absl::InvalidArgumentError(absl::StrCat(Shown(n), ": prefecture number ",
                                                   std::string(n.substr(0, 2)), " is not 01–47"));
  }
  if (OfficeCharValue(n[2]) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        Shown(n),
        ": 事業所区分 (3rd character) must be a digit or a capital letter other than I, O, Q"));
  }
  if (n[2] == '1' || n[2] == '3' || n[2] == '4' || n[2] == '5' || n[2] == '6') {
    return absl::OkStatus();  // medical-side numbers carry the medical code's check digit
  }
  char expected = OfficeNumberCheckDigit(n.substr(0, 9));
  if (n[9] != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat(Shown(n), ": check digit is ", std::string(n.substr(9, 1)), ", expected ",
                     std::string(1, expected), " (modulus 10, weights 2-1)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateInsurerNumber(std::string_view n) {
  if (n.size() != 6 || !AllDigits(n)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Shown(n), " must be 6 half-width digits (保険者番号)"));
  }
  char expected = InsurerNumberCheckDigit(n.substr(0, 5));
  if (n[5] != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat(Shown(n), ": check digit is ", std::string(n.substr(5, 1)), ", expected ",
                     std::string(1, expected), " (modulus 10, weights 2-1)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateInsuredNumber(std::string_view n) {
  bool ok = n.size() == 10 && (AllDigits(n) || (n[0] == 'H' && AllDigits(n.substr(1))));
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        Shown(n), " must be 10 half-width digits or \"H\" and 9 digits (被保険者番号)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEclaimUserId(std::string_view id) {
  bool ok = id.size() > 2 && id.substr(0, 2) == "KJ";
  for (size_t i = 2; ok && i < id.size(); ++i) {
    ok = absl::ascii_isalnum(static_cast<unsigned char>(id[i]));
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        Shown(id), " must be \"KJ\" followed by letters and digits (電子請求 user ID)"));
  }
  return absl::OkStatus();
}

}  // namespace kaigo

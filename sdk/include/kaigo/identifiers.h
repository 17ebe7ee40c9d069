// Validation of the care-insurance identifiers with their real rules (see
// shared/reference/identifiers-and-codes.md): 介護保険事業所番号 and 保険者番号 with their check
// digits, the forms of 被保険者番号 and the 電子請求受付システム user ID.
//
// Each function returns OK or INVALID_ARGUMENT whose message states the rule broken, without the
// field name: callers prefix the field path. Pure functions; thread-safe.
#ifndef KAIGO_IDENTIFIERS_H_
#define KAIGO_IDENTIFIERS_H_

#include <string_view>

#include "absl/status/status.h"

namespace kaigo {

// 介護保険事業所番号: 10 characters — 都道府県番号 (2 digits, 01–47), 事業所区分 (a digit, or a
// capital letter other than I, O, Q for 総合事業), 7 digits, and a check digit (modulus 10, weights
// 2-1 from the right of the first nine, letters A=10 … Z=32, two-digit products split). Numbers of
// medical-side 区分 (1, 3, 4, 5, 6) carry the medical code's check digit and are accepted on form.
absl::Status ValidateOfficeNumber(std::string_view number);

// 保険者番号: 6 digits; the 6th is a check digit (modulus 10, weights 2-1 from the right of the
// first five, products' digits summed, check = (10 − sum mod 10) mod 10).
absl::Status ValidateInsurerNumber(std::string_view number);

// 被保険者番号: 10 half-width digits, or "H" followed by 9 digits.
absl::Status ValidateInsuredNumber(std::string_view number);

// 電子請求受付システム user ID: "KJ" followed by letters and digits.
absl::Status ValidateEclaimUserId(std::string_view id);

// The check digit the rules above expect, for fixtures ('?' if the input has the wrong form).
char OfficeNumberCheckDigit(std::string_view first_nine);
char InsurerNumberCheckDigit(std::string_view first_five);

}  // namespace kaigo

#endif  // KAIGO_IDENTIFIERS_H_

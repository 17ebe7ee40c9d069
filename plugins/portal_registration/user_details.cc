#include "user_details.h"

#include <regex>

#include "absl/strings/ascii.h"
#include "japanese_text.h"
#include "kaigo/sdk/error_details.h"

namespace kaigo::plugins::portal {

namespace sdk = kaigo::sdk;

absl::Status CheckUserDetails(const kaigo::v1::UserDetails& d, const std::string& field) {
  auto bad = [&](const char* name, const std::string& why) {
    return sdk::InvalidField(field + "." + name, "INVALID_" + absl::AsciiStrToUpper(name), why);
  };
  static const std::regex kEmail(
      R"(^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$)");
  if (d.email().empty()) return bad("email", "required (the portal login ID)");
  if (d.email().size() > 254 || !std::regex_match(d.email(), kEmail)) {
    return bad("email", "not an e-mail address (half-width, name@domain)");
  }
  if (d.name().empty()) return bad("name", "氏名 is required");
  if (text::Characters(d.name()) < 0 || text::Characters(d.name()) > 50) {
    return bad("name", "at most 50 characters of UTF-8 text");
  }
  if (auto problem = text::KatakanaProblem(d.name_kana())) {
    return bad("name_kana", *problem == "required" ? "氏名(フリガナ) is required" : *problem);
  }
  for (auto [name, value] :
       {std::pair{"department", &d.department()}, std::pair{"title", &d.title()}}) {
    if (text::Characters(*value) < 0 || text::Characters(*value) > 50) {
      return bad(name, "at most 50 characters of UTF-8 text");
    }
  }
  if (auto problem = text::PhoneProblem(d.phone())) return bad("phone", *problem);
  return absl::OkStatus();
}

}  // namespace kaigo::plugins::portal

#include "mynumber_operations.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kaigo/sdk/error_details.h"

namespace kaigo::plugins::card {

namespace sdk = kaigo::sdk;

namespace {

constexpr size_t kMaxFile = 0x7FFF;  // READ BINARY offsets are 15 bits

std::string Hex(uint16_t sw) { return absl::StrFormat("%04X", sw); }

}  // namespace

absl::Status CheckFourDigitPin(const std::string& pin) {
  if (pin.size() != 4 || pin.find_first_not_of("0123456789") != std::string::npos) {
    return sdk::InvalidField("pin", "PIN_FORMAT", "must be 4 half-width digits",
                             "暗証番号は半角数字4桁で入力してください");
  }
  return absl::OkStatus();
}

absl::StatusOr<CardResponse> MyNumberOperations::Send(const std::string& apdu) {
  ++apdus_;
  auto raw = session_->Transmit(apdu);
  if (!raw.ok()) return raw.status();
  auto response = SplitResponse(*raw);
  if (!response.ok())
    return absl::UnavailableError("the card answered " + std::string(response.status().message()));
  return response;
}

absl::Status MyNumberOperations::Expect9000(const std::string& apdu, const char* what) {
  auto r = Send(apdu);
  if (!r.ok()) return r.status();
  if (r->sw == 0x6A82)
    return absl::FailedPreconditionError(
        absl::StrCat("card: no ", what, " (6A82): not a My Number card?"));
  if (r->sw != 0x9000) {
    return absl::FailedPreconditionError(
        absl::StrCat("card: ", what, " refused (", Hex(r->sw), ")"));
  }
  return absl::OkStatus();
}

absl::Status MyNumberOperations::VerifyPin(uint16_t pin_ef, const std::string& pin) {
  if (auto s = Expect9000(SelectFile(pin_ef), "PIN file"); !s.ok()) return s;
  auto r = Send(Verify(pin));
  if (!r.ok()) return r.status();
  if (r->sw == 0x9000) return absl::OkStatus();
  if (r->sw == 0x63C0 || r->sw == 0x6983 || r->sw == 0x6984) {
    absl::Status blocked = absl::PermissionDeniedError(
        "pin: the PIN is blocked after too many wrong tries (tries_left=0); the holder must have "
        "it reset at the municipal office");
    blocked = sdk::WithErrorInfo(std::move(blocked), "PIN_BLOCKED", {{"tries_left", "0"}});
    return sdk::WithStaffMessage(
        std::move(blocked),
        "暗証番号がロックされています。本人が市区町村の窓口で初期化の手続きをしてください");
  }
  if ((r->sw & 0xFFF0) == 0x63C0) {
    int tries_left = r->sw & 0xF;
    absl::Status wrong =
        absl::UnauthenticatedError(absl::StrCat("pin: wrong PIN (tries_left=", tries_left, ")"));
    wrong = sdk::WithErrorInfo(std::move(wrong), "WRONG_PIN",
                               {{"tries_left", std::to_string(tries_left)}});
    return sdk::WithStaffMessage(std::move(wrong),
                                 absl::StrCat("暗証番号が違います（残り", tries_left, "回）"));
  }
  return absl::FailedPreconditionError("card: PIN check refused (" + Hex(r->sw) + ")");
}

absl::StatusOr<std::string> MyNumberOperations::ReadTlvFile(const char* what) {
  std::string content;
  size_t total = 0;
  for (;;) {
    size_t want = total == 0 ? 256 : std::min<size_t>(256, total - content.size());
    auto r = Send(ReadBinary(content.size(), want));
    if (!r.ok()) return r.status();
    if ((r->sw & 0xFF00) == 0x6C00 && (r->sw & 0xFF) != 0 && content.empty()) {
      r = Send(ReadBinary(0, r->sw & 0xFF));  // the card names the exact length
      if (!r.ok()) return r.status();
    }
    if (r->sw != 0x9000 && r->sw != 0x6282) {
      return absl::FailedPreconditionError(
          absl::StrCat("card: reading the ", what, " refused (", Hex(r->sw), ")"));
    }
    if (r->data.empty()) {
      return absl::FailedPreconditionError(absl::StrCat("card: the ", what, " ends early"));
    }
    content += r->data;
    if (total == 0) {
      auto length = TlvTotalLength(content);
      if (!length.ok() || *length > kMaxFile) {
        return absl::FailedPreconditionError(absl::StrCat("card: the ", what, " is not a TLV"));
      }
      total = *length;
    }
    if (content.size() >= total) {
      content.resize(total);
      return content;
    }
  }
}

absl::StatusOr<bool> MyNumberOperations::IsMyNumberCard() {
  auto r = Send(SelectApplication(kJpkiAid));
  if (!r.ok()) return r.status();
  return r->sw == 0x9000;
}

absl::StatusOr<BasicFour> MyNumberOperations::ReadAttributes(const std::string& pin,
                                                             std::string* my_number) {
  if (auto s = CheckFourDigitPin(pin); !s.ok()) return s;
  if (auto s = Expect9000(SelectApplication(kInfoAid), "券面事項入力補助AP"); !s.ok()) return s;
  if (auto s = VerifyPin(kInfoPinEf, pin); !s.ok()) return s;
  if (auto s = Expect9000(SelectFile(kAttributesEf), "attributes EF"); !s.ok()) return s;
  auto attributes = ReadTlvFile("attributes");
  if (!attributes.ok()) return attributes.status();
  auto four = ParseBasicFour(*attributes);
  if (!four.ok()) return absl::FailedPreconditionError(four.status().message());
  if (my_number != nullptr) {
    if (auto s = Expect9000(SelectFile(kMyNumberEf), "My Number EF"); !s.ok()) return s;
    auto number = ReadTlvFile("My Number");
    if (!number.ok()) return number.status();
    auto parsed = ParseMyNumber(*number);
    if (!parsed.ok()) return absl::FailedPreconditionError(parsed.status().message());
    *my_number = *std::move(parsed);
  }
  return four;
}

absl::StatusOr<Authentication> MyNumberOperations::Authenticate(const std::string& pin,
                                                                std::string_view challenge) {
  if (auto s = CheckFourDigitPin(pin); !s.ok()) return s;
  if (challenge.empty() || challenge.size() > 1024) {
    return sdk::InvalidField("challenge", "CHALLENGE_SIZE", "1 to 1024 bytes");
  }
  if (auto s = Expect9000(SelectApplication(kJpkiAid), "JPKI application"); !s.ok()) return s;
  if (auto s = VerifyPin(kAuthPinEf, pin); !s.ok()) return s;
  if (auto s = Expect9000(SelectFile(kAuthKeyEf), "authentication key"); !s.ok()) return s;
  auto signed_ = Send(ComputeSignature(Sha256DigestInfo(challenge)));
  if (!signed_.ok()) return signed_.status();
  if (signed_->sw != 0x9000 || signed_->data.empty()) {
    return absl::FailedPreconditionError("card: signing refused (" + Hex(signed_->sw) + ")");
  }
  if (auto s = Expect9000(SelectFile(kAuthCertificateEf), "authentication certificate"); !s.ok()) {
    return s;
  }
  auto certificate = ReadTlvFile("authentication certificate");
  if (!certificate.ok()) return certificate.status();
  return Authentication{std::move(signed_->data), *std::move(certificate)};
}

}  // namespace kaigo::plugins::card

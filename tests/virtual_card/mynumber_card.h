// A My Number card as tests need it (shared/reference/mynumber-card-pcsc.md, A1–A5): the JPKI
// application (token EF 0006, authentication certificate 000A and its CA 000B, the 4-digit
// authentication PIN 0018 with 3 tries, the authentication key 0017 that signs a DigestInfo with
// PKCS#1 v1.5 through OpenSSL) and the 券面事項入力補助 application (its 4-digit PIN 0011 with 3
// tries, the My Number in 0001 as tag D0, the four attributes in 0002 as FF20 { DF21…DF25 }).
//
// Selection as on the card: an application by its AID (or a prefix of one), then an EF of it by
// FID; selecting another application, power-off, power-on and reset clear the verified PINs.
// Wrong PINs count down (63Cx); at zero the PIN is blocked (6983) until the card is replaced.
// Short APDUs only; READ BINARY at an offset (P1 P2, 15 bits), Le 00 = 256.
//
// Not thread-safe: one card, one reader.
#ifndef KAIGO_TESTS_VIRTUAL_CARD_MYNUMBER_CARD_H_
#define KAIGO_TESTS_VIRTUAL_CARD_MYNUMBER_CARD_H_

#include <openssl/evp.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kaigo::testing {

struct CardProfile {
  std::string atr = std::string("\x3B\xE0\x00\xFF\x81\x31\xFE\x45\x14", 9);
  std::string auth_pin = "1234";
  std::string info_pin = "1234";
  std::string auth_certificate_der;
  std::string ca_certificate_der;
  std::string auth_key_pem;  // RSA-2048 private key
  std::string name = "山田 花子";
  std::string address = "東京都千代田区霞が関1-2-2";
  std::string birth_date = "19450315";  // as the card holds it: ASCII
  std::string sex = "2";                // ISO 5218
  std::string my_number = "123456789018";
};

class MyNumberCard {
 public:
  static absl::StatusOr<std::unique_ptr<MyNumberCard>> Create(CardProfile profile);
  ~MyNumberCard();

  // The R-APDU (data + SW1 SW2) for a C-APDU.
  std::string Process(std::string_view apdu);
  // Power off, power on or reset: what was verified and selected is forgotten.
  void PowerEvent();
  const std::string& atr() const { return profile_.atr; }
  int apdus() const { return apdus_; }

 private:
  struct Pin {
    std::string value;
    int tries_left = 3;
    bool verified = false;
  };
  struct File {
    std::string content;
    Pin* pin = nullptr;  // must be verified before READ BINARY; null: free
    bool readable = true;
  };
  struct Application {
    std::string aid;
    std::map<uint16_t, File> files;
    std::map<uint16_t, Pin*> pins;  // PIN EFs: VERIFY applies to the selected one
  };

  explicit MyNumberCard(CardProfile profile) : profile_(std::move(profile)) {}
  std::string Select(std::string_view apdu);
  std::string ReadBinary(std::string_view apdu);
  std::string Verify(std::string_view apdu);
  std::string Sign(std::string_view apdu);
  void ClearSecurity();

  CardProfile profile_;
  EVP_PKEY* key_ = nullptr;
  Pin auth_pin_, info_pin_;
  std::map<std::string, Application> applications_;
  Application* current_ = nullptr;
  uint16_t current_ef_ = 0;
  bool ef_selected_ = false;
  int apdus_ = 0;
};

// A DER TLV with a BER length.
std::string Tlv(std::string_view tag, std::string_view value);

// The DER of a PEM certificate; "" if it is not one.
std::string CertificatePemToDer(const std::string& pem);

// A card profile from files made by `kaigo-sandbox make-certs` (or MakeJpkiCertificates):
// DIR/jpki-card-CN.{crt,key} and DIR/jpki-ca.crt.
absl::StatusOr<CardProfile> ProfileFromFiles(const std::string& dir, const std::string& cn);

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_VIRTUAL_CARD_MYNUMBER_CARD_H_

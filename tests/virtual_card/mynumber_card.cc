#include "tests/virtual_card/mynumber_card.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <fstream>
#include <iterator>
#include <vector>

namespace kaigo::testing {

namespace {

const std::string kJpkiAid("\xD3\x92\xF0\x00\x26\x01\x00\x00\x00\x01", 10);
const std::string kInfoAid("\xD3\x92\x10\x00\x31\x00\x01\x01\x04\x08", 10);

std::string Sw(uint16_t sw) { return {static_cast<char>(sw >> 8), static_cast<char>(sw & 0xFF)}; }

unsigned Byte(std::string_view s, size_t i) { return static_cast<unsigned char>(s[i]); }

}  // namespace

std::string Tlv(std::string_view tag, std::string_view value) {
  std::string out(tag);
  size_t n = value.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else if (n < 0x100) {
    out += '\x81';
    out += static_cast<char>(n);
  } else {
    out += '\x82';
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xFF);
  }
  out.append(value);
  return out;
}

std::string CertificatePemToDer(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return "";
  unsigned char* der = nullptr;
  int size = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<char*>(der), size > 0 ? size : 0);
  OPENSSL_free(der);
  X509_free(cert);
  return out;
}

absl::StatusOr<CardProfile> ProfileFromFiles(const std::string& dir, const std::string& cn) {
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CardProfile profile;
  profile.auth_certificate_der = CertificatePemToDer(read(dir + "/jpki-card-" + cn + ".crt"));
  profile.ca_certificate_der = CertificatePemToDer(read(dir + "/jpki-ca.crt"));
  profile.auth_key_pem = read(dir + "/jpki-card-" + cn + ".key");
  if (profile.auth_certificate_der.empty() || profile.ca_certificate_der.empty()) {
    return absl::NotFoundError("no test JPKI certificates for " + cn + " in " + dir);
  }
  return profile;
}

absl::StatusOr<std::unique_ptr<MyNumberCard>> MyNumberCard::Create(CardProfile profile) {
  std::unique_ptr<MyNumberCard> card(new MyNumberCard(std::move(profile)));
  const CardProfile& p = card->profile_;
  BIO* bio = BIO_new_mem_buf(p.auth_key_pem.data(), static_cast<int>(p.auth_key_pem.size()));
  card->key_ = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (card->key_ == nullptr) return absl::InvalidArgumentError("auth key: not a PEM private key");
  if (p.auth_pin.size() != 4 || p.info_pin.size() != 4) {
    return absl::InvalidArgumentError("PINs: 4 digits");
  }
  card->auth_pin_.value = p.auth_pin;
  card->info_pin_.value = p.info_pin;

  Application& jpki = card->applications_[kJpkiAid];
  jpki.aid = kJpkiAid;
  std::string token = "JPKIAPICCTOKEN2";
  token.resize(0x20, ' ');
  jpki.files[0x0006] = {token, nullptr, true};
  jpki.files[0x000A] = {p.auth_certificate_der, nullptr, true};
  jpki.files[0x000B] = {p.ca_certificate_der, nullptr, true};
  jpki.files[0x0017] = {"", &card->auth_pin_, false};  // the key: selected, never read
  jpki.pins[0x0018] = &card->auth_pin_;

  Application& info = card->applications_[kInfoAid];
  info.aid = kInfoAid;
  info.files[0x0001] = {Tlv("\xD0", p.my_number), &card->info_pin_, true};
  // DF21 holds the offsets of the four attributes in the EF, as 16-bit big-endian numbers.
  std::string attributes;
  std::vector<size_t> positions;
  for (auto [tag, value] : {std::pair{"\xDF\x22", &p.name}, std::pair{"\xDF\x23", &p.address},
                            std::pair{"\xDF\x24", &p.birth_date}, std::pair{"\xDF\x25", &p.sex}}) {
    positions.push_back(attributes.size());
    attributes += Tlv(tag, *value);
  }
  size_t body = 2 + 1 + 8 + attributes.size();  // DF21 TLV, then the attributes
  size_t outer = 2 + (body < 0x80 ? 1 : body < 0x100 ? 2 : 3);
  std::string header;
  for (size_t position : positions) {
    size_t at = outer + 11 + position;
    header += static_cast<char>(at >> 8);
    header += static_cast<char>(at & 0xFF);
  }
  info.files[0x0002] = {Tlv("\xFF\x20", Tlv("\xDF\x21", header) + attributes), &card->info_pin_,
                        true};
  info.pins[0x0011] = &card->info_pin_;
  return card;
}

MyNumberCard::~MyNumberCard() { EVP_PKEY_free(key_); }

void MyNumberCard::ClearSecurity() {
  auth_pin_.verified = false;
  info_pin_.verified = false;
}

void MyNumberCard::PowerEvent() {
  ClearSecurity();
  current_ = nullptr;
  ef_selected_ = false;
}

std::string MyNumberCard::Process(std::string_view apdu) {
  ++apdus_;
  if (apdu.size() < 4) return Sw(0x6700);
  unsigned cla = Byte(apdu, 0), ins = Byte(apdu, 1);
  if (cla != 0x00 && cla != 0x80) return Sw(0x6E00);
  switch (ins) {
    case 0xA4:
      return Select(apdu);
    case 0xB0:
      return ReadBinary(apdu);
    case 0x20:
      return Verify(apdu);
    case 0x2A:
      return cla == 0x80 ? Sign(apdu) : Sw(0x6D00);
    default:
      return Sw(0x6D00);
  }
}

std::string MyNumberCard::Select(std::string_view apdu) {
  if (apdu.size() < 5 || apdu.size() < 5u + Byte(apdu, 4)) return Sw(0x6700);
  std::string_view data = apdu.substr(5, Byte(apdu, 4));
  unsigned p1 = Byte(apdu, 2);
  if (p1 == 0x04) {
    Application* found = nullptr;
    for (auto& [aid, app] : applications_) {
      if (!data.empty() && aid.compare(0, data.size(), data) == 0) {
        found = &app;
        if (aid.size() == data.size()) break;
      }
    }
    if (found == nullptr) return Sw(0x6A82);
    if (found != current_) ClearSecurity();
    current_ = found;
    ef_selected_ = false;
    return Sw(0x9000);
  }
  if (p1 == 0x02) {
    if (current_ == nullptr || data.size() != 2) return Sw(0x6A82);
    uint16_t fid = static_cast<uint16_t>(Byte(data, 0) << 8 | Byte(data, 1));
    if (!current_->files.count(fid) && !current_->pins.count(fid)) return Sw(0x6A82);
    current_ef_ = fid;
    ef_selected_ = true;
    return Sw(0x9000);
  }
  return Sw(0x6A86);
}

std::string MyNumberCard::ReadBinary(std::string_view apdu) {
  if (current_ == nullptr || !ef_selected_) return Sw(0x6986);
  auto file = current_->files.find(current_ef_);
  if (file == current_->files.end() || !file->second.readable) return Sw(0x6986);
  if (file->second.pin != nullptr && !file->second.pin->verified) return Sw(0x6982);
  size_t offset = (Byte(apdu, 2) & 0x7F) << 8 | Byte(apdu, 3);
  size_t le = apdu.size() >= 5 ? Byte(apdu, 4) : 256;
  if (le == 0) le = 256;
  const std::string& content = file->second.content;
  if (offset > content.size()) return Sw(0x6B00);
  return content.substr(offset, le) + Sw(0x9000);
}

std::string MyNumberCard::Verify(std::string_view apdu) {
  if (current_ == nullptr || !ef_selected_ || !current_->pins.count(current_ef_)) {
    return Sw(0x6986);
  }
  Pin* pin = current_->pins[current_ef_];
  if (pin->tries_left == 0) return Sw(0x6983);
  if (apdu.size() <= 5) return Sw(0x63C0 | pin->tries_left);  // a query: tries left
  std::string_view given = apdu.substr(5, Byte(apdu, 4));
  if (given != pin->value) {
    pin->verified = false;
    --pin->tries_left;
    return Sw(0x63C0 | pin->tries_left);
  }
  pin->tries_left = 3;
  pin->verified = true;
  return Sw(0x9000);
}

std::string MyNumberCard::Sign(std::string_view apdu) {
  if (current_ == nullptr || !ef_selected_ || current_ef_ != 0x0017) return Sw(0x6986);
  if (!auth_pin_.verified) return Sw(0x6982);
  if (apdu.size() < 5 || apdu.size() < 5u + Byte(apdu, 4)) return Sw(0x6700);
  std::string_view digest_info = apdu.substr(5, Byte(apdu, 4));
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key_, nullptr);
  size_t size = 0;
  std::string signature;
  // No digest set: the DigestInfo is signed as given, in a PKCS#1 v1.5 type 1 block.
  if (ctx != nullptr && EVP_PKEY_sign_init(ctx) > 0 &&
      EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
      EVP_PKEY_sign(ctx, nullptr, &size, reinterpret_cast<const unsigned char*>(digest_info.data()),
                    digest_info.size()) > 0) {
    signature.resize(size);
    if (EVP_PKEY_sign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size,
                      reinterpret_cast<const unsigned char*>(digest_info.data()),
                      digest_info.size()) <= 0) {
      signature.clear();
    }
    signature.resize(size);
  }
  EVP_PKEY_CTX_free(ctx);
  if (signature.empty()) return Sw(0x6F00);
  return signature + Sw(0x9000);
}

}  // namespace kaigo::testing

#include "card_data.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"

namespace kaigo::plugins::card {

const std::string_view kJpkiAid("\xD3\x92\xF0\x00\x26\x01\x00\x00\x00\x01", 10);
const std::string_view kInfoAid("\xD3\x92\x10\x00\x31\x00\x01\x01\x04\x08", 10);

namespace {

unsigned Byte(std::string_view s, size_t i) { return static_cast<unsigned char>(s[i]); }

std::string Command(const char header[4], std::string_view data, bool with_le) {
  std::string apdu(header, 4);
  if (!data.empty()) {
    apdu += static_cast<char>(data.size());
    apdu.append(data);
  }
  if (with_le) apdu += '\0';
  return apdu;
}

absl::Status NotTlv(const std::string& why) {
  return absl::InvalidArgumentError("card data: " + why);
}

// Tag and length sizes of the TLV at the start of `s`; `value_length` set on success.
absl::Status Header(std::string_view s, size_t* tag_size, size_t* length_size,
                    size_t* value_length) {
  if (s.empty()) return absl::OutOfRangeError("card data: no tag");
  size_t t = 1;
  if ((Byte(s, 0) & 0x1F) == 0x1F) {  // multi-byte tag: more bytes while bit 8 is set
    do {
      if (t >= s.size()) return absl::OutOfRangeError("card data: tag cut short");
      if (t >= 3) return NotTlv("tag longer than 3 bytes");
    } while (Byte(s, t++) & 0x80);
  }
  if (t >= s.size()) return absl::OutOfRangeError("card data: no length");
  unsigned first = Byte(s, t);
  size_t n = 1, length = first;
  if (first == 0x80) return NotTlv("indefinite length");
  if (first > 0x80) {
    n = 1 + (first & 0x7F);
    if (n > 4) return NotTlv("length of more than 3 bytes");
    if (t + n > s.size()) return absl::OutOfRangeError("card data: length cut short");
    length = 0;
    for (size_t k = 1; k < n; ++k) length = length << 8 | Byte(s, t + k);
  }
  *tag_size = t;
  *length_size = n;
  *value_length = length;
  return absl::OkStatus();
}

}  // namespace

std::string SelectApplication(std::string_view aid) {
  return Command("\x00\xA4\x04\x0C", aid, false);
}

std::string SelectFile(uint16_t fid) {
  const char id[2] = {static_cast<char>(fid >> 8), static_cast<char>(fid & 0xFF)};
  return Command("\x00\xA4\x02\x0C", std::string_view(id, 2), false);
}

std::string ReadBinary(size_t offset, size_t length) {
  std::string apdu("\x00\xB0", 2);
  apdu += static_cast<char>((offset >> 8) & 0x7F);
  apdu += static_cast<char>(offset & 0xFF);
  apdu += static_cast<char>(length >= 256 ? 0 : length);
  return apdu;
}

std::string Verify(std::string_view pin) { return Command("\x00\x20\x00\x80", pin, false); }

std::string ComputeSignature(std::string_view digest_info) {
  return Command("\x80\x2A\x00\x80", digest_info, true);
}

std::string Sha256DigestInfo(std::string_view data) {
  static constexpr char kPrefix[] =
      "\x30\x31\x30\x0D\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20";
  unsigned char digest[32];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(kPrefix, sizeof kPrefix - 1) +
         std::string(reinterpret_cast<const char*>(digest), size);
}

absl::StatusOr<CardResponse> SplitResponse(std::string_view rapdu) {
  if (rapdu.size() < 2) return absl::InvalidArgumentError("card answer: shorter than 2 bytes");
  CardResponse r;
  r.data = std::string(rapdu.substr(0, rapdu.size() - 2));
  r.sw = static_cast<uint16_t>(Byte(rapdu, rapdu.size() - 2) << 8 | Byte(rapdu, rapdu.size() - 1));
  return r;
}

absl::StatusOr<size_t> TlvTotalLength(std::string_view head) {
  size_t tag = 0, length = 0, value = 0;
  if (auto s = Header(head, &tag, &length, &value); !s.ok()) return s;
  return tag + length + value;
}

absl::StatusOr<std::vector<Tlv>> ParseTlvs(std::string_view data) {
  std::vector<Tlv> out;
  while (!data.empty()) {
    size_t tag = 0, length = 0, value = 0;
    absl::Status s = Header(data, &tag, &length, &value);
    if (s.code() == absl::StatusCode::kOutOfRange) {
      return absl::InvalidArgumentError(s.message());  // cut short inside a complete EF
    }
    if (!s.ok()) return s;
    if (value > data.size() - tag - length) return NotTlv("value runs past the end");
    out.push_back({data.substr(0, tag), data.substr(tag + length, value)});
    data.remove_prefix(tag + length + value);
  }
  return out;
}

absl::StatusOr<std::string> ParseMyNumber(std::string_view ef) {
  auto total = TlvTotalLength(ef);
  if (!total.ok() || *total > ef.size()) return NotTlv("My Number EF is not a TLV");
  auto tlvs = ParseTlvs(ef.substr(0, *total));
  if (!tlvs.ok()) return tlvs.status();
  const Tlv& t = (*tlvs)[0];
  if (t.tag != "\xD0") return NotTlv("My Number EF does not start with tag D0");
  if (t.value.size() != 12) return NotTlv("the My Number is not 12 characters");
  for (char c : t.value) {
    if (c < '0' || c > '9') return NotTlv("the My Number is not 12 digits");
  }
  return std::string(t.value);
}

absl::StatusOr<BasicFour> ParseBasicFour(std::string_view ef) {
  auto total = TlvTotalLength(ef);
  if (!total.ok() || *total > ef.size()) return NotTlv("attributes EF is not a TLV");
  auto outer = ParseTlvs(ef.substr(0, *total));
  if (!outer.ok()) return outer.status();
  if ((*outer)[0].tag != "\xFF\x20") return NotTlv("attributes EF does not start with tag FF20");
  auto inner = ParseTlvs((*outer)[0].value);
  if (!inner.ok()) return inner.status();
  BasicFour four;
  bool seen[4] = {};
  for (const Tlv& t : *inner) {
    if (t.tag.size() != 2 || static_cast<unsigned char>(t.tag[0]) != 0xDF) continue;
    int which = static_cast<unsigned char>(t.tag[1]) - 0x22;
    if (which < 0 || which > 3) continue;  // DF21 (offsets) and unknown tags are skipped
    std::string* field[] = {&four.name, &four.address, &four.birth_date, &four.sex};
    *field[which] = std::string(t.value);
    seen[which] = true;
  }
  const char* names[] = {"name (DF22)", "address (DF23)", "birth date (DF24)", "sex (DF25)"};
  for (int i = 0; i < 4; ++i) {
    if (!seen[i]) return NotTlv(absl::StrCat("attributes EF has no ", names[i]));
  }
  return four;
}

}  // namespace kaigo::plugins::card

#include "attachment_type.h"

#include <zlib.h>

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "kaigo/sdk/error_details.h"

namespace kaigo::plugins::subsidy {

namespace {

using kaigo::v1::FileType;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

uint32_t BigEndian32(std::string_view s, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

uint32_t BigEndian16(std::string_view s, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 8 |
         static_cast<unsigned char>(s[at + 1]);
}

absl::Status Broken(const char* type, const std::string& why) {
  return sdk::InvalidField(
      "content", "FILE_DAMAGED",
      absl::StrCat("starts as a ", type, " but ", why, " (truncated or damaged?)"));
}

// A PDF reader finds the trailer from the end; "%%EOF" must sit in the last KiB.
absl::Status CheckPdf(std::string_view s) {
  if (s.size() < 8 || !(s[5] == '1' || s[5] == '2') || s[6] != '.') {
    return Broken("PDF", "its header has no version (%PDF-1.x or %PDF-2.x)");
  }
  std::string_view tail = s.substr(s.size() > 1024 ? s.size() - 1024 : 0);
  if (tail.find("%%EOF") == std::string_view::npos) {
    return Broken("PDF", "it has no %%EOF marker at its end");
  }
  return absl::OkStatus();
}

absl::Status CheckPng(std::string_view s) {
  // Signature (8), IHDR chunk (4 length + 4 type + 13 data + 4 CRC), IEND chunk (12).
  if (s.size() < 8 + 25 + 12) return Broken("PNG", "it is too short to hold an image");
  if (BigEndian32(s, 8) != 13 || s.substr(12, 4) != "IHDR") {
    return Broken("PNG", "its first chunk is not a 13-byte IHDR");
  }
  uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(s.data() + 12), 4 + 13);
  if (crc != BigEndian32(s, 29)) return Broken("PNG", "its IHDR checksum is wrong");
  if (BigEndian32(s, 16) == 0 || BigEndian32(s, 20) == 0) {
    return Broken("PNG", "its width or height is zero");
  }
  static constexpr char kIend[] = "\0\0\0\0IEND\xAE\x42\x60\x82";
  if (s.substr(s.size() - 12) != std::string_view(kIend, 12)) {
    return Broken("PNG", "it does not end with an IEND chunk");
  }
  return absl::OkStatus();
}

// Walks the marker segments from SOI: each is FF xx + a 2-byte length counting itself, until the
// scan starts (SOS), which must follow a frame header (SOFn). The file ends with EOI (FF D9).
absl::Status CheckJpeg(std::string_view s) {
  size_t at = 2;
  bool frame = false;
  for (;;) {
    while (at < s.size() && static_cast<unsigned char>(s[at]) == 0xFF && at + 1 < s.size() &&
           static_cast<unsigned char>(s[at + 1]) == 0xFF) {
      ++at;  // fill bytes
    }
    if (at + 4 > s.size()) return Broken("JPEG", "its segments run past the end");
    if (static_cast<unsigned char>(s[at]) != 0xFF) {
      return Broken("JPEG", absl::StrCat("byte ", at, " is not a segment marker"));
    }
    unsigned marker = static_cast<unsigned char>(s[at + 1]);
    if (marker == 0xD9 || marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      return Broken("JPEG", absl::StrCat("marker FF", absl::Hex(marker, absl::kZeroPad2),
                                         " appears before the image data"));
    }
    uint32_t length = BigEndian16(s, at + 2);
    if (length < 2 || at + 2 + length > s.size()) {
      return Broken("JPEG", "a segment's length runs past the end");
    }
    if (marker == 0xDA) {
      if (!frame) return Broken("JPEG", "its image data comes before any frame header");
      break;
    }
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      frame = true;
    }
    at += 2 + length;
  }
  // Some cameras pad after EOI; it must be within the last few bytes.
  std::string_view tail = s.substr(s.size() > 32 ? s.size() - 32 : 0);
  if (tail.find("\xFF\xD9") == std::string_view::npos) {
    return Broken("JPEG", "it does not end with an end-of-image marker");
  }
  return absl::OkStatus();
}

// Formats an office may upload by mistake, to name them in the error.
std::string Recognise(std::string_view s) {
  if (s.size() >= 12 && s.substr(4, 4) == "ftyp") {
    std::string_view brand = s.substr(8, 4);
    if (brand == "heic" || brand == "heix" || brand == "mif1" || brand == "heim") {
      return "a HEIC photo (iPhone: set the camera to 'Most Compatible' or export as JPEG)";
    }
    return "an MP4/QuickTime file";
  }
  if (StartsWith(s, "PK\x03\x04")) return "a ZIP file (Word, Excel and similar are ZIPs)";
  if (StartsWith(s, std::string_view("\xD0\xCF\x11\xE0", 4))) {
    return "an old Office document (.doc/.xls)";
  }
  if (StartsWith(s, "GIF8")) return "a GIF image";
  if (StartsWith(s, "II*") || StartsWith(s, std::string_view("MM\0*", 4))) return "a TIFF image";
  if (StartsWith(s, "BM")) return "a BMP image";
  if (StartsWith(s, "RIFF") && s.size() >= 12 && s.substr(8, 4) == "WEBP") {
    return "a WebP image";
  }
  return "";
}

}  // namespace

absl::StatusOr<FileType> DetectFileType(std::string_view content) {
  if (content.empty()) return sdk::InvalidField("content", "REQUIRED", "the file is empty");
  if (StartsWith(content, "%PDF-")) {
    if (auto s = CheckPdf(content); !s.ok()) return s;
    return kaigo::v1::FILE_TYPE_PDF;
  }
  if (StartsWith(content, std::string_view("\x89PNG\r\n\x1A\n", 8))) {
    if (auto s = CheckPng(content); !s.ok()) return s;
    return kaigo::v1::FILE_TYPE_PNG;
  }
  if (StartsWith(content, "\xFF\xD8\xFF")) {
    if (auto s = CheckJpeg(content); !s.ok()) return s;
    return kaigo::v1::FILE_TYPE_JPEG;
  }
  std::string other = Recognise(content);
  return sdk::InvalidField("content", "FILE_TYPE",
                           absl::StrCat(other.empty() ? "not a PDF, JPEG or PNG" : other,
                                        other.empty() ? "" : ", not a PDF, JPEG or PNG",
                                        " (the portal accepts those three only)"),
                           "添付できるのはPDF、JPEG、PNGのファイルだけです");
}

const char* FileTypeName(FileType type) {
  switch (type) {
    case kaigo::v1::FILE_TYPE_PDF:
      return "PDF";
    case kaigo::v1::FILE_TYPE_JPEG:
      return "JPEG";
    case kaigo::v1::FILE_TYPE_PNG:
      return "PNG";
    default:
      return "unknown";
  }
}

}  // namespace kaigo::plugins::subsidy

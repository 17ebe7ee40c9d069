// Small, structurally valid files of the kinds offices attach (PDF, PNG, JPEG), made in memory
// for tests, optionally padded to a given size. Not images anyone could view in detail: enough
// structure for the attachment checks and the portal.
#ifndef KAIGO_TESTS_SUPPORT_SAMPLE_FILES_H_
#define KAIGO_TESTS_SUPPORT_SAMPLE_FILES_H_

#include <zlib.h>

#include <cstdint>
#include <string>

namespace kaigo::testing {

inline void PutBigEndian32(std::string* out, uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out->push_back(static_cast<char>((v >> shift) & 0xFF));
}

// A one-page PDF whose content stream is padded so the file has at least `min_size` bytes.
inline std::string SamplePdf(const std::string& text, size_t min_size = 0) {
  std::string stream = "BT /F1 12 Tf 50 780 Td (" + text + ") Tj ET\n";
  if (stream.size() + 400 < min_size) stream += std::string(min_size - 400 - stream.size(), '%');
  return "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
         "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
         "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >> "
         "endobj\n4 0 obj << /Length " +
         std::to_string(stream.size()) + " >> stream\n" + stream +
         "endstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
}

inline void PngChunk(std::string* png, const char* type, const std::string& data) {
  PutBigEndian32(png, static_cast<uint32_t>(data.size()));
  std::string body = std::string(type, 4) + data;
  png->append(body);
  PutBigEndian32(png, static_cast<uint32_t>(
                          crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())));
}

// A grey PNG of `width` × `height` pixels.
inline std::string SamplePng(uint32_t width = 2, uint32_t height = 2) {
  std::string png("\x89PNG\r\n\x1A\n", 8);
  std::string header;
  PutBigEndian32(&header, width);
  PutBigEndian32(&header, height);
  header += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit greyscale
  PngChunk(&png, "IHDR", header);
  std::string raw;
  for (uint32_t y = 0; y < height; ++y) raw += '\0' + std::string(width, '\x80');
  uLongf size = compressBound(raw.size());
  std::string packed(size, '\0');
  compress(reinterpret_cast<Bytef*>(packed.data()), &size,
           reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  packed.resize(size);
  PngChunk(&png, "IDAT", packed);
  PngChunk(&png, "IEND", "");
  return png;
}

// A baseline JPEG's segment structure (SOI, APP0, DQT, SOF0, DHT, SOS, scan data, EOI), with the
// scan padded to reach `min_size` bytes.
inline std::string SampleJpeg(size_t min_size = 0) {
  auto segment = [](unsigned char marker, const std::string& data) {
    std::string s = {'\xFF', static_cast<char>(marker)};
    uint16_t length = static_cast<uint16_t>(data.size() + 2);
    s += static_cast<char>(length >> 8);
    s += static_cast<char>(length & 0xFF);
    return s + data;
  };
  std::string jpeg = "\xFF\xD8";
  jpeg += segment(0xE0, std::string("JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00", 14));
  jpeg += segment(0xDB, std::string(1, '\0') + std::string(64, '\x01'));
  jpeg += segment(0xC0, std::string("\x08\x00\x08\x00\x08\x01\x01\x11\x00", 9));
  jpeg += segment(0xC4, std::string("\x00", 1) + std::string(16, '\0') + std::string(1, '\0'));
  jpeg += segment(0xDA, std::string("\x01\x01\x00\x00\x3F\x00", 6));
  std::string scan(min_size > jpeg.size() + 10 ? min_size - jpeg.size() - 2 : 8, '\x55');
  return jpeg + scan + "\xFF\xD9";
}

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_SAMPLE_FILES_H_

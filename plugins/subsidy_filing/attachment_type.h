// Which kind of file an attachment is, judged by its content (never by its name): the portal takes
// PDF, JPEG and PNG only. Each accepted type is checked for its structure, not just its first
// bytes — a PDF needs its header and an end-of-file marker, a PNG a valid IHDR chunk (CRC checked)
// and an IEND chunk, a JPEG well-formed segments up to a frame header and an end-of-image marker —
// so a truncated upload or a renamed file is caught before the portal returns the application.
// Formats offices often have instead (HEIC photos, Word/Excel files, GIF, TIFF, BMP) are named in
// the error. Pure; thread-safe.
#ifndef KAIGO_PLUGINS_SUBSIDY_FILING_ATTACHMENT_TYPE_H_
#define KAIGO_PLUGINS_SUBSIDY_FILING_ATTACHMENT_TYPE_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "kaigo/v1/subsidy.pb.h"

namespace kaigo::plugins::subsidy {

// The type of `content`; INVALID_ARGUMENT saying what is wrong otherwise.
absl::StatusOr<kaigo::v1::FileType> DetectFileType(std::string_view content);

// "PDF", "JPEG", "PNG".
const char* FileTypeName(kaigo::v1::FileType type);

}  // namespace kaigo::plugins::subsidy

#endif  // KAIGO_PLUGINS_SUBSIDY_FILING_ATTACHMENT_TYPE_H_

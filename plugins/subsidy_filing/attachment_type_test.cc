#include "attachment_type.h"

#include <gtest/gtest.h>

#include "kaigo/sdk/error_details.h"
#include "tests/support/sample_files.h"

namespace kaigo::plugins::subsidy {
namespace {

using kaigo::testing::SampleJpeg;
using kaigo::testing::SamplePdf;
using kaigo::testing::SamplePng;

std::string ErrorOf(const std::string& content) {
  auto type = DetectFileType(content);
  return type.ok() ? "" : std::string(type.status().message());
}

TEST(AttachmentTypeTest, AcceptsEachTypeByContentAlone) {
  EXPECT_EQ(*DetectFileType(SamplePdf("receipt")), kaigo::v1::FILE_TYPE_PDF);
  EXPECT_EQ(*DetectFileType(SamplePng(3, 4)), kaigo::v1::FILE_TYPE_PNG);
  EXPECT_EQ(*DetectFileType(SampleJpeg()), kaigo::v1::FILE_TYPE_JPEG);
  EXPECT_EQ(*DetectFileType(SampleJpeg() + std::string(10, '\0')), kaigo::v1::FILE_TYPE_JPEG)
      << "padding after the end-of-image marker is tolerated";
}

TEST(AttachmentTypeTest, TruncatedFilesAreCaught) {
  std::string pdf = SamplePdf("x", 4000);
  EXPECT_NE(ErrorOf(pdf.substr(0, pdf.size() / 2)).find("no %%EOF"), std::string::npos);
  std::string png = SamplePng();
  EXPECT_NE(ErrorOf(png.substr(0, png.size() - 5)).find("IEND"), std::string::npos);
  std::string jpeg = SampleJpeg(3000);
  EXPECT_NE(ErrorOf(jpeg.substr(0, 2000)).find("end-of-image"), std::string::npos);
  EXPECT_NE(ErrorOf(jpeg.substr(0, 30)).find("segment"), std::string::npos);
}

TEST(AttachmentTypeTest, DamagedStructureIsNamed) {
  std::string png = SamplePng();
  png[20] ^= 1;  // inside IHDR: the CRC no longer matches
  EXPECT_NE(ErrorOf(png).find("checksum"), std::string::npos);
  EXPECT_NE(ErrorOf("%PDF-x.4\n%%EOF").find("version"), std::string::npos);
  std::string jpeg = SampleJpeg();
  jpeg[20] = 'A';  // the second segment marker (after APP0) is gone
  EXPECT_NE(ErrorOf(jpeg).find("not a segment marker"), std::string::npos);
}

TEST(AttachmentTypeTest, OtherFormatsAreNamed) {
  EXPECT_NE(ErrorOf(std::string("\0\0\0\x18"
                                "ftypheic",
                                12))
                .find("HEIC"),
            std::string::npos);
  EXPECT_NE(ErrorOf("PK\x03\x04word/document.xml").find("ZIP"), std::string::npos);
  EXPECT_NE(ErrorOf("GIF89a....").find("GIF"), std::string::npos);
  EXPECT_NE(ErrorOf("hello").find("not a PDF, JPEG or PNG"), std::string::npos);
  EXPECT_NE(ErrorOf("").find("empty"), std::string::npos);
}

TEST(AttachmentTypeTest, ARefusalNamesTheContentFieldAndTheRule) {
  const std::pair<std::string, std::string> cases[] = {
      {"hello", "FILE_TYPE"}, {"", "REQUIRED"}, {"%PDF-x.4\n%%EOF", "FILE_DAMAGED"}};
  for (const auto& [content, reason] : cases) {
    absl::Status s = DetectFileType(content).status();
    google::rpc::BadRequest bad;
    ASSERT_TRUE(sdk::FindDetail(s, &bad)) << s;
    EXPECT_EQ(bad.field_violations(0).field(), "content");
    EXPECT_EQ(bad.field_violations(0).reason(), reason);
  }
  google::rpc::BadRequest gif;
  ASSERT_TRUE(sdk::FindDetail(DetectFileType("GIF89a....").status(), &gif));
  EXPECT_EQ(gif.field_violations(0).localized_message().locale(), "ja-JP");
}

}  // namespace
}  // namespace kaigo::plugins::subsidy

// CSV → typed → CSV is byte-identical for every kind on valid input (CRLF and LF, a last line
// without its ending), through JSON too; the spec's example names parse and format back.
#include <gtest/gtest.h>

#include "careplan/care_plan_reader.h"
#include "careplan/care_plan_writer.h"
#include "careplan/file_kinds.h"
#include "careplan/file_name.h"
#include "careplan/layout.h"
#include "careplan/ms932.h"
#include "careplan/testing/sample_files.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"

namespace kaigo::careplan {
namespace {

using testing::SampleBytes;
using testing::SampleName;
using testing::SampleOptions;

std::string Describe(const std::vector<v1::Finding>& findings) {
  std::string out;
  for (const auto& f : findings) out += FormatFinding(f) + "\n";
  return out;
}

class RoundTrip : public ::testing::TestWithParam<v1::FileKind> {};

TEST_P(RoundTrip, CsvTypedCsvIsByteIdentical) {
  for (auto ending : {v1::LINE_ENDING_CRLF, v1::LINE_ENDING_LF}) {
    SampleOptions o;
    o.line_ending = ending;
    std::string name = FormatFileName(SampleName(GetParam(), o));
    std::string bytes = SampleBytes(GetParam(), o);
    ReadOptions strict;
    strict.mode = Mode::kStrict;
    ReadResult read = ReadCarePlanFile(name, bytes, strict);
    ASSERT_TRUE(read.findings.empty()) << name << "\n" << Describe(read.findings);
    auto written = WriteCarePlanFile(read.file);
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ(*written, bytes) << name;

    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(read.file, &json).ok());
    v1::CarePlanFile back;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back, read.file));
    auto again = WriteCarePlanFile(back);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, bytes);
  }
}

TEST_P(RoundTrip, LastLineWithoutEndingStaysSo) {
  if (GetParam() == v1::FILE_KIND_UPKIHON_IMAGE) GTEST_SKIP();
  SampleOptions o;
  std::string bytes = SampleBytes(GetParam(), o);
  bytes.resize(bytes.size() - 2);
  ReadOptions strict;
  strict.mode = Mode::kStrict;
  ReadResult read = ReadCarePlanFile(FormatFileName(SampleName(GetParam(), o)), bytes, strict);
  ASSERT_FALSE(read.has_errors()) << Describe(read.findings);
  EXPECT_TRUE(read.file.last_line_unterminated());
  EXPECT_EQ(*WriteCarePlanFile(read.file), bytes);
}

std::vector<v1::FileKind> Kinds() {
  size_t count = 0;
  const KindInfo* kinds = AllKinds(&count);
  std::vector<v1::FileKind> out;
  for (size_t i = 0; i < count; ++i) out.push_back(kinds[i].kind);
  return out;
}

INSTANTIATE_TEST_SUITE_P(EveryKind, RoundTrip, ::testing::ValuesIn(Kinds()), [](const auto& info) {
  return std::string(FindKind(info.param)->prefix);
});

TEST(FileNames, TheSpecsExamplesParseAndFormatBack) {
  const char* examples[] = {
      "UPHOSOKU_000000_0300000100_43_0300000005_11_20191025200201.CSV",
      "UPHOSOKU_201909_0300000100_43_0300000005_11_20191025200201.CSV",
      "UP1KYO_0300000100_43_0300000005_11_20191025200201.CSV",
      "DLT1KYO_0300000100_43_0300000005_11_20191025200201.CSV",
      "UP2KYO_0300000100_43_0300000005_11_20191025200201.CSV",
      "UP3KYO_0300000100_43_0300000005_11_20191025200201.CSV",
      "UPPLAN_201912_0300000100_43_0300000005_11_20191025200201.CSV",
      "UPJSK_201912_0300000005_43_0300000100_11_20191025200201.CSV",
      "DLTPLAN_201912_0300000100_43_0300000005_11_20191025200201.CSV",
      "DLTJSK_201912_0300000005_43_0300000100_11_20191025200201.CSV",
      "UPSIKYU_201912_0300000100_43_0300000005_11_20191025200201.CSV",
      "UPKIHON_0300000100_43_0300000005_11_20191025200201.CSV",
      "DLTKIHON_0300000100_43_0300000005_11_20191025200201.CSV",
      "UPKIHON_SUB1_0300000100_43_0300000005_11_20191025200201.CSV",
      "UPKIHON_SUB2_0300000100_43_0300000005_11_20191025200201.CSV",
      "UPKIHON_IMAGE_0300000100_43_0300000005_11_20191025200201_0001.jpg",
      "UPKIHON_IMAGE_0300000100_43_0300000005_11_20191025200201_0002.JPG",
      "UPYOBO_0300000100_43_0300000005_11_20191025200201.CSV",
      "UPYOBO_SUB_0300000100_43_0300000005_11_20191025200201.CSV",
      "DLTYOBO_0300000100_43_0300000005_11_20191025200201.CSV",
      // The older form, without the service-type segments (Vol.1156).
      "UPPLAN_201912_0300000100_0300000005_20191025200201.CSV",
  };
  for (const char* example : examples) {
    auto name = ParseFileName(example);
    ASSERT_TRUE(name.ok()) << example << ": " << name.status();
    EXPECT_EQ(FormatFileName(*name), example);
  }
  auto plan = ParseFileName("UPPLAN_201912_0300000100_43_0300000005_11_20191025200201.CSV");
  EXPECT_EQ(plan->kind(), v1::FILE_KIND_UPPLAN);
  EXPECT_EQ(plan->service_month(), "201912");
  EXPECT_EQ(plan->from_office(), "0300000100");
  EXPECT_EQ(plan->from_service_type(), "43");
  EXPECT_EQ(plan->to_office(), "0300000005");
  EXPECT_EQ(plan->to_service_type(), "11");
  EXPECT_EQ(plan->sequence(), "20191025200201");
  auto sub = ParseFileName("UPKIHON_SUB1_0300000100_43_0300000005_11_20191025200201.CSV");
  EXPECT_EQ(sub->kind(), v1::FILE_KIND_UPKIHON_SUB1);
  auto older = ParseFileName("UPPLAN_201912_0300000100_0300000005_20191025200201.CSV");
  EXPECT_TRUE(older->older_form());
}

TEST(OlderVersions, A201910UsageTableIsReadAndWrittenAs4_1) {
  // 第6表 before 4.0 has no TAISコード, 福祉用具届出コード or 用具名称 (22 items).
  std::string old = *Utf8ToMs932(
      "201910,131011,0000100004,20191001,201912,1371000017,\"山田\",250,0,20191202,,0900,1000,1,"
      "111211,,1371000025,\"ひまわり\",,0,1371000017,\r\n");
  ReadOptions tolerant;
  ReadResult read = ReadCarePlanFile("UPPLAN_201912_1371000017_43_1371000025_11_20191025200201.CSV",
                                     old, tolerant);
  ASSERT_FALSE(read.has_errors()) << Describe(read.findings);
  ASSERT_EQ(read.file.upplan_size(), 1);
  EXPECT_EQ(read.file.upplan(0).service_code(), "111211");
  EXPECT_EQ(read.file.upplan(0).service_office_number(), "1371000025");
  EXPECT_EQ(read.file.upplan(0).tais_code(), "");
  auto written = WriteCarePlanFile(read.file);
  EXPECT_EQ(*written,
            "202407,131011,0000100004,20191001,201912,1371000017,\"\x8eR\x93\x63\",250,0,"
            "20191202,,0900,1000,1,111211,,,\"\",,1371000025,\"\x82\xd0\x82\xdc\x82\xed\x82\xe8\""
            ",,0,1371000017,\r\n");
}

}  // namespace
}  // namespace kaigo::careplan

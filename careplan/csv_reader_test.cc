#include "careplan/csv_reader.h"

#include <gtest/gtest.h>

namespace kaigo::careplan {
namespace {

std::vector<std::vector<std::string>> ReadAll(absl::string_view data, CsvReader* reader,
                                              std::vector<int>* lines = nullptr) {
  std::vector<std::vector<std::string>> out;
  CsvRecord record;
  while (reader->Next(&record)) {
    std::vector<std::string> fields;
    for (const auto& f : record.fields) fields.emplace_back(f.value);
    out.push_back(fields);
    if (lines) lines->push_back(record.line);
  }
  (void)data;
  return out;
}

TEST(CsvReader, QuotedFieldsKeepCommasLineBreaksAndDoubledQuotes) {
  std::string data = "1,\"a,b\",\"x\r\ny\",\"say \"\"hi\"\"\"\r\n2,,\"\"\r\n";
  CsvReader reader(data);
  std::vector<int> lines;
  auto rows = ReadAll(data, &reader, &lines);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"1", "a,b", "x\r\ny", "say \"hi\""}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"2", "", ""}));
  EXPECT_EQ(lines, (std::vector<int>{1, 3}));
  EXPECT_EQ(reader.crlf_count(), 2);
  EXPECT_FALSE(reader.last_line_unterminated());
  EXPECT_TRUE(reader.issues().empty());
}

TEST(CsvReader, LfBomAndAnUnterminatedLastLine) {
  std::string data =
      "\xEF\xBB\xBF"
      "a,b\nc,d";
  CsvReader reader(data);
  auto rows = ReadAll(data, &reader);
  EXPECT_TRUE(reader.had_bom());
  EXPECT_EQ(rows, (std::vector<std::vector<std::string>>{{"a", "b"}, {"c", "d"}}));
  EXPECT_EQ(reader.lf_count(), 1);
  EXPECT_TRUE(reader.last_line_unterminated());
}

TEST(CsvReader, Ms932TrailBytesAreNotSeparators) {
  // ソ is 83 5C and 表 is 95 5C in MS932: trail byte 0x5C ('\') must not confuse anything.
  std::string data = "\"\x83\x5C\x95\x5C\",1\r\n";
  CsvReader reader(data);
  auto rows = ReadAll(data, &reader);
  EXPECT_EQ(rows, (std::vector<std::vector<std::string>>{{"\x83\x5C\x95\x5C", "1"}}));
}

TEST(CsvReader, RecoversAndReportsBrokenQuoting) {
  std::string data = "a\"b,\"c\"d,\"open";
  CsvReader reader(data);
  auto rows = ReadAll(data, &reader);
  EXPECT_EQ(rows, (std::vector<std::vector<std::string>>{{"a\"b", "cd", "open"}}));
  ASSERT_EQ(reader.issues().size(), 3u);
  EXPECT_EQ(reader.issues()[0].kind, CsvIssue::kStrayQuote);
  EXPECT_EQ(reader.issues()[1].kind, CsvIssue::kTextAfterQuote);
  EXPECT_EQ(reader.issues()[2].kind, CsvIssue::kUnterminatedQuote);
}

TEST(CsvReader, MarksFieldsThatAreAllAscii) {
  // Fields across the 64-byte blocks the reader scans, non-ASCII in quoted and unquoted fields,
  // in a field after a non-ASCII one and in text kept after a closing quote.
  const std::string kana = "\xB1\xB2";   // ｱｲ, half-width
  const std::string kanji = "\x8E\x52";  // 山
  std::string long_ascii(70, 'x');
  std::string long_kana;
  for (int k = 0; k < 40; ++k) long_kana += kana;
  std::string data = long_ascii + "," + long_kana + "," + kanji + ",a,\"" + kanji + "\"\"\",\"b\"" +
                     kana + ",\"" + long_ascii + "\"\r\n" + long_kana + long_ascii + ",z";
  CsvReader reader(data);
  std::vector<bool> ascii;
  CsvRecord record;
  while (reader.Next(&record)) {
    for (const CsvField& f : record.fields) ascii.push_back(f.ascii);
  }
  EXPECT_EQ(ascii, (std::vector<bool>{true, false, false, true, false, false, true, false, true}));
}

TEST(CsvReader, StopsAtItsLimits) {
  CsvLimits limits;
  limits.max_fields = 3;
  limits.max_records = 2;
  limits.max_issues = 2;
  {
    CsvReader reader("a,b,c\nd,e,f,g\nh", limits);
    auto rows = ReadAll("", &reader);
    EXPECT_EQ(rows, (std::vector<std::vector<std::string>>{{"a", "b", "c"}}));
    EXPECT_EQ(reader.stopped(), CsvStop::kFields);
    EXPECT_EQ(reader.stop_line(), 2);
  }
  {
    CsvReader reader("a\nb\n\n", limits);
    EXPECT_EQ(ReadAll("", &reader).size(), 2u);
    EXPECT_EQ(reader.stopped(), CsvStop::kRecords);
    EXPECT_EQ(reader.stop_line(), 3);
  }
  {
    CsvReader reader("a\"\"\nb\"\"\"\"\n", limits);  // two stray quotes a line
    EXPECT_EQ(ReadAll("", &reader).size(), 1u);
    EXPECT_EQ(reader.issues().size(), 2u);
    EXPECT_EQ(reader.stopped(), CsvStop::kIssues);
    EXPECT_EQ(reader.stop_line(), 2);
  }
  {
    CsvReader reader("a,b,c\nd\n", limits);  // at the limits, not past them
    EXPECT_EQ(ReadAll("", &reader).size(), 2u);
    EXPECT_EQ(reader.stopped(), CsvStop::kNone);
  }
}

}  // namespace
}  // namespace kaigo::careplan

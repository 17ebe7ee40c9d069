#include "careplan/care_plan_book.h"

#include <gtest/gtest.h>

#include "careplan/repeats.h"
#include "careplan/testing/sample_files.h"

namespace kaigo::careplan {
namespace {

using testing::SampleFile;
using testing::SampleOptions;
using K = v1::FileKind;

constexpr char kPlanKey[] = "131011/0000100004/20261101";
constexpr char kUseKey[] = "131011/0000100004/202611";

TEST(CarePlanBook, AnUpdateReplacesAndADeleteCascades) {
  SampleOptions o;
  o.recipients = 1;
  CarePlanBook book;
  book.Apply(SampleFile(K::FILE_KIND_UP1KYO, o));
  book.Apply(SampleFile(K::FILE_KIND_UP2KYO, o));
  book.Apply(SampleFile(K::FILE_KIND_UP3KYO, o));
  EXPECT_EQ(book.Rows(K::FILE_KIND_UP2KYO, kPlanKey).size(), 3u);

  o.rows_per_recipient = 1;  // a changed plan with one 第2表 row replaces the three
  book.Apply(SampleFile(K::FILE_KIND_UP2KYO, o));
  EXPECT_EQ(book.Rows(K::FILE_KIND_UP2KYO, kPlanKey).size(), 1u);

  book.Apply(SampleFile(K::FILE_KIND_DLT1KYO, o));  // 第1表_削除 takes 第2表 and 第3表 with it
  EXPECT_TRUE(book.Rows(K::FILE_KIND_UP1KYO, kPlanKey).empty());
  EXPECT_TRUE(book.Rows(K::FILE_KIND_UP2KYO, kPlanKey).empty());
  EXPECT_TRUE(book.Rows(K::FILE_KIND_UP3KYO, kPlanKey).empty());

  book.Apply(SampleFile(K::FILE_KIND_UPPLAN, o));
  book.Apply(SampleFile(K::FILE_KIND_UPSIKYU, o));
  book.Apply(SampleFile(K::FILE_KIND_UPJSK, o));
  EXPECT_FALSE(book.Rows(K::FILE_KIND_UPSIKYU, kUseKey).empty());
  book.Apply(SampleFile(K::FILE_KIND_DLTPLAN, o));  // 予定_削除 takes 第7表, not 実績
  EXPECT_TRUE(book.Rows(K::FILE_KIND_UPPLAN, kUseKey).empty());
  EXPECT_TRUE(book.Rows(K::FILE_KIND_UPSIKYU, kUseKey).empty());
  ASSERT_EQ(book.Keys(K::FILE_KIND_UPJSK).size(), 1u);
  book.Apply(SampleFile(K::FILE_KIND_DLTJSK, o));  // per office and service type
  EXPECT_TRUE(book.Keys(K::FILE_KIND_UPJSK).empty());
}

TEST(Repeats, BlanksAreFilledFromThePreviousRowOfTheSameNo) {
  SampleOptions o;
  o.recipients = 1;
  o.rows_per_recipient = 4;
  v1::CarePlanFile file = SampleFile(K::FILE_KIND_UP2KYO, o);
  // Rows: 課題1/目標1/内容1, 課題(blank)/目標1/内容2 with blank goals, 目標2/内容1, blank/内容2.
  ASSERT_TRUE(file.up2kyo(1).issue().empty());
  ASSERT_TRUE(file.up2kyo(1).long_term_goal().empty());
  v1::CarePlanFile printed = file;
  ResolveRepeats(&file);
  EXPECT_EQ(file.up2kyo(1).issue(), file.up2kyo(0).issue());
  EXPECT_EQ(file.up2kyo(1).long_term_goal(), file.up2kyo(0).long_term_goal());
  EXPECT_EQ(file.up2kyo(3).long_term_goal(), file.up2kyo(2).long_term_goal());
  EXPECT_EQ(file.up2kyo(3).issue(), file.up2kyo(0).issue());
  BlankRepeats(&file);
  EXPECT_EQ(file.SerializeAsString(), printed.SerializeAsString());
}

}  // namespace
}  // namespace kaigo::careplan

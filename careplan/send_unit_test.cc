#include "careplan/send_unit.h"

#include <gtest/gtest.h>

#include "careplan/file_name.h"

namespace kaigo::careplan {
namespace {

std::vector<v1::FileName> Names(std::initializer_list<const char*> names) {
  std::vector<v1::FileName> out;
  for (const char* n : names) out.push_back(*ParseFileName(n));
  return out;
}

TEST(SendUnit, GroupedByFileSequenceAndOrderedForProcessing) {
  auto names = Names({
      "UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV",
      "UP1KYO_1371000017_43_1371000025_11_20261101090000.CSV",
      "UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV",
      "UP2KYO_1371000017_43_1371000025_11_20261101090000.CSV",
  });
  auto units = GroupSendUnits(names);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[0].sequence, "20261101090000");
  EXPECT_EQ(units[0].files, (std::vector<size_t>{1, 3}));  // 第1表 before 第2表
  EXPECT_EQ(units[1].files, (std::vector<size_t>{2, 0}));  // 第6表 before 第7表
  for (const auto& unit : units) {
    std::vector<v1::FileName> members;
    for (size_t i : unit.files) members.push_back(names[i]);
    EXPECT_TRUE(CheckSendUnit(members, Mode::kStrict).empty());
  }
}

TEST(SendUnit, KindsThatCannotTravelTogether) {
  auto findings =
      CheckSendUnit(Names({"UP1KYO_1371000017_43_1371000025_11_20261124100000.CSV",
                           "UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV"}),
                    Mode::kTolerant);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(FormatFinding(findings[0]),
            "UP1KYO_1371000017_43_1371000025_11_20261124100000.CSV: error [send_unit]: these "
            "files cannot share one ファイル連番: UP1KYO, UPPLAN (a send unit is e.g. "
            "第1表・第2表・第3表・利用者補足, or 第6表・第7表・利用者補足, or one 削除 alone)");
}

TEST(SendUnit, ADependantWithoutItsParent) {
  auto names = Names({"UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV"});
  auto strict = CheckSendUnit(names, Mode::kStrict);
  ASSERT_EQ(strict.size(), 1u);
  EXPECT_EQ(FormatFinding(strict[0]),
            "UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV: error [send_unit]: "
            "UPSIKYU is sent with its UPPLAN in the same send unit");
  EXPECT_EQ(CheckSendUnit(names, Mode::kTolerant)[0].severity(), v1::Finding::SEVERITY_WARNING);
}

}  // namespace
}  // namespace kaigo::careplan

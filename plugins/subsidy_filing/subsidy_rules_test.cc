#include "subsidy_rules.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "kaigo/sdk/error_details.h"

namespace kaigo::plugins::subsidy {
namespace {

namespace v1 = kaigo::v1;

std::string ShippedRules() {
  return std::string(std::getenv("KAIGO_SOURCE_DIR")) + "/deploy/subsidy/subsidy-rules.yaml";
}

v1::SubsidyRules Rules() {
  auto rules = LoadRules(ShippedRules());
  EXPECT_TRUE(rules.ok()) << rules.status();
  return rules.ok() ? *rules : v1::SubsidyRules();
}

v1::EstimateRequest Request(std::vector<std::string> types, int readers, int64_t a, int64_t b) {
  v1::EstimateRequest r;
  for (auto& t : types) r.add_service_types()->set_value(t);
  r.set_readers(readers);
  r.mutable_reader_cost()->set_amount(a);
  r.mutable_support_cost()->set_amount(b);
  return r;
}

TEST(SubsidyRulesTest, ShippedFileHasTheRoundsAndCategories) {
  v1::SubsidyRules rules = Rules();
  ASSERT_EQ(rules.rounds_size(), 2);
  EXPECT_EQ(FormatDate(ToCivilDay(rules.rounds(0).open().end())), "2026-03-13");
  EXPECT_EQ(FormatDate(ToCivilDay(rules.rounds(1).open().start())), "2026-05-07");
  EXPECT_TRUE(rules.rounds(1).planned());
  ASSERT_EQ(rules.categories_size(), 3);
  EXPECT_EQ(rules.categories(0).readers_covered(), 3);
  EXPECT_EQ(rules.categories(0).cap().amount(), 64000);
  EXPECT_EQ(rules.categories(1).cap().amount(), 55000);
  EXPECT_EQ(rules.categories(2).cap().amount(), 42000);
  // Every code of the サービス種類コード list is mapped (shared/reference/identifiers-and-codes.md
  // §8).
  for (const char* code :
       {"11", "12", "13", "14", "15", "16", "17", "21", "22", "23", "2A", "31", "27",
        "28", "32", "33", "36", "38", "41", "42", "43", "46", "51", "52", "53", "54",
        "59", "81", "68", "71", "72", "73", "76", "77", "78", "79", "24", "25", "26",
        "2B", "34", "35", "37", "39", "44", "45", "62", "63", "64", "66", "67", "69",
        "74", "75", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"}) {
    bool found = false;
    for (const auto& t : rules.service_types()) found |= t.code() == code;
    EXPECT_TRUE(found) << code;
  }
}

TEST(SubsidyRulesTest, EachCategoryAndItsCap) {
  v1::SubsidyRules rules = Rules();
  struct Case {
    std::string type;
    std::string category;
    int64_t cap;
  } cases[] = {{"43", "訪問・通所・短期滞在系", 64000},
               {"11", "訪問・通所・短期滞在系", 64000},
               {"32", "居住・入所系", 55000},
               {"36", "居住・入所系", 55000},
               {"78", "その他", 42000}};
  for (const auto& c : cases) {
    auto below = Estimate(rules, Request({c.type}, 1, 20000, 10000));
    ASSERT_TRUE(below.ok()) << below.status();
    EXPECT_EQ(below->category(), c.category) << c.type;
    EXPECT_EQ(below->grant().amount(), 30000) << "A + B below the cap is paid in full";
    auto above = Estimate(rules, Request({c.type}, 1, 30000, 90000));
    EXPECT_EQ(above->grant().amount(), c.cap) << c.type;
    EXPECT_EQ(above->cap().amount(), c.cap);
  }
}

TEST(SubsidyRulesTest, ReadersBeyondTheCategoryCountAreExcluded) {
  v1::SubsidyRules rules = Rules();
  auto four = Estimate(rules, Request({"43"}, 4, 40000, 0));  // 3 covered
  ASSERT_TRUE(four.ok());
  EXPECT_EQ(four->eligible_reader_cost().amount(), 30000);
  EXPECT_EQ(four->grant().amount(), 30000);
  auto other = Estimate(rules, Request({"78"}, 3, 30000, 5000));  // 1 covered
  EXPECT_EQ(other->eligible_reader_cost().amount(), 10000);
  EXPECT_EQ(other->grant().amount(), 15000);
  bool explained = false;
  for (const auto& line : other->explanation()) {
    explained |= line.find("3 bought, 1 covered") != std::string::npos;
  }
  EXPECT_TRUE(explained);
  EXPECT_EQ(other->explanation(other->explanation_size() - 1),
            "Grant = min(¥15,000, cap ¥42,000) = ¥15,000");
}

TEST(SubsidyRulesTest, SeveralServiceTypesTakeTheHighestCap) {
  auto mixed = Estimate(Rules(), Request({"78", "32", "43"}, 3, 60000, 20000));
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->category(), "訪問・通所・短期滞在系");
  EXPECT_EQ(mixed->grant().amount(), 64000);
}

TEST(SubsidyRulesTest, BadRequestsNameTheField) {
  v1::SubsidyRules rules = Rules();
  EXPECT_EQ(Estimate(rules, Request({}, 1, 1, 1)).status().message(),
            "service_types: at least one サービス種類コード is required");
  EXPECT_EQ(Estimate(rules, Request({"43", "99"}, 1, 1, 1)).status().message(),
            "service_types[1].value: '99' is not a サービス種類コード in the rules");
  EXPECT_NE(Estimate(rules, Request({"43"}, 1, -1, 0)).status().message().find("reader_cost"),
            std::string::npos);
  EXPECT_NE(Estimate(rules, Request({"43"}, 0, 100, 0)).status().message().find("readers"),
            std::string::npos);
  // The same for a program: the field's path and the rule.
  const std::pair<v1::EstimateRequest, std::pair<std::string, std::string>> cases[] = {
      {Request({}, 1, 1, 1), {"service_types", "REQUIRED"}},
      {Request({"43", "99"}, 1, 1, 1), {"service_types[1].value", "SERVICE_TYPE"}},
      {Request({"43"}, -1, 0, 0), {"readers", "RANGE"}},
      {Request({"43"}, 1, -1, 0), {"reader_cost.amount", "RANGE"}},
      {Request({"43"}, 1, 0, -1), {"support_cost.amount", "RANGE"}},
      {Request({"43"}, 0, 100, 0), {"readers", "READERS_FOR_COST"}}};
  for (const auto& [request, violated] : cases) {
    absl::Status s = Estimate(rules, request).status();
    google::rpc::BadRequest bad;
    ASSERT_TRUE(sdk::FindDetail(s, &bad)) << s;
    ASSERT_EQ(bad.field_violations_size(), 1);
    EXPECT_EQ(bad.field_violations(0).field(), violated.first);
    EXPECT_EQ(bad.field_violations(0).reason(), violated.second);
  }
}

TEST(SubsidyRulesTest, RoundsOpenAndClosed) {
  v1::SubsidyRules rules = Rules();
  EXPECT_EQ(OpenRound(rules, absl::CivilDay(2026, 3, 13))->name(), "FY2025");
  EXPECT_EQ(OpenRound(rules, absl::CivilDay(2026, 5, 7))->name(), "FY2026");
  EXPECT_EQ(OpenRound(rules, absl::CivilDay(2026, 4, 1)), nullptr);
  EXPECT_EQ(NoRoundReason(rules, absl::CivilDay(2026, 4, 1)),
            "no subsidy round is open on 2026-04-01; FY2025 closed on 2026-03-13; FY2026 opens on "
            "2026-05-07 (planned)");
  EXPECT_NE(NoRoundReason(rules, absl::CivilDay(2027, 3, 13)).find("no later round"),
            std::string::npos);
}

TEST(SubsidyRulesTest, ABrokenRulesFileListsEveryProblem) {
  std::string path = ::testing::TempDir() + "/broken-rules.yaml";
  std::ofstream(path)
      << "rounds:\n  - name: X\n    open: {start: {year: 2026, month: 2, day: 30}}\n"
         "categories:\n  - {id: a, name: A, readers_covered: 0, cap: {amount: 1}}\n"
         "service_types:\n  - {code: '43', category: b}\n"
         "attachment_max_bytes: 10\nunknown_key: 1\n";
  auto rules = LoadRules(path);
  ASSERT_FALSE(rules.ok());
  std::string m(rules.status().message());
  EXPECT_NE(m.find("unknown_key"), std::string::npos) << m;
  EXPECT_NE(m.find(":9:1"), std::string::npos) << "positions are named: " << m;
  std::ofstream(path)
      << "rounds:\n  - name: X\n    open: {start: {year: 2026, month: 2, day: 30}}\n"
         "categories:\n  - {id: a, name: A, readers_covered: 0, cap: {amount: 1}}\n"
         "service_types:\n  - {code: '43', category: b}\n"
         "attachment_max_bytes: 10\n";
  m = std::string(LoadRules(path).status().message());
  for (const char* expected :
       {"rounds[0].open.start: not a calendar date", "rounds[0].open.end: not a calendar date",
        "categories[0].readers_covered: must be between 1 and 1000",
        "service_types[0].category: no category 'b'"}) {
    EXPECT_NE(m.find(expected), std::string::npos) << expected << " in " << m;
  }
}

}  // namespace
}  // namespace kaigo::plugins::subsidy

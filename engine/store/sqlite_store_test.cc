#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>

#include "engine/store/store.h"

namespace kaigo::engine {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kaigo-store-XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = dir_ + "/state.db";
    auto store = OpenSqliteStore(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override {
    store_.reset();
    std::string cmd = "rm -rf " + dir_;
    ASSERT_EQ(system(cmd.c_str()), 0);
  }
  void Exec(const std::string& sql) {
    sqlite3* db;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    sqlite3_close(db);
  }
  void AppendThree() {
    for (int i = 0; i < 3; ++i) {
      AuditRecord r;
      r.time_ms = 1000 + i;
      r.caller = "care-system-a";
      r.office = "1371000017";
      r.plugin = "qualification";
      r.action = "/kaigo.v1.QualificationService/LookupByInsuredNumber";
      r.subject_ref = "ref-" + std::to_string(i);
      ASSERT_TRUE(store_->AppendAudit(r).ok());
    }
  }
  std::string dir_, path_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, KeysAreNamespacedPerPluginAndOffice) {
  ASSERT_TRUE(store_->Put("a", "1", "k", "v1").ok());
  ASSERT_TRUE(store_->Put("a", "2", "k", "v2").ok());
  ASSERT_TRUE(store_->Put("b", "1", "k", "v3").ok());
  EXPECT_EQ(*store_->Get("a", "1", "k"), "v1");
  EXPECT_EQ(*store_->Get("a", "2", "k"), "v2");
  EXPECT_EQ(*store_->Get("b", "1", "k"), "v3");
  EXPECT_EQ(store_->Get("b", "2", "k").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->Put("a", "1", "k", std::string("\0bin", 4)).ok());
  EXPECT_EQ(*store_->Get("a", "1", "k"), std::string("\0bin", 4));
  EXPECT_TRUE(store_->Delete("a", "1", "k").ok());
  EXPECT_EQ(store_->Delete("a", "1", "k").code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ListsByPrefixInKeyOrder) {
  for (const char* k : {"p/2", "p/1", "q/1", "p/10"}) ASSERT_TRUE(store_->Put("a", "1", k, k).ok());
  std::vector<std::string> keys;
  ASSERT_TRUE(store_
                  ->List("a", "1", "p/",
                         [&](std::string_view k, std::string_view) { keys.emplace_back(k); })
                  .ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"p/1", "p/10", "p/2"}));
}

TEST_F(SqliteStoreTest, SurvivesReopening) {
  ASSERT_TRUE(store_->Put("a", "1", "k", "kept").ok());
  store_.reset();
  auto reopened = OpenSqliteStore(path_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(*(*reopened)->Get("a", "1", "k"), "kept");
}

TEST_F(SqliteStoreTest, AuditChainVerifies) {
  AppendThree();
  auto v = store_->VerifyAudit();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->records, 3);
}

TEST_F(SqliteStoreTest, AuditChainFindsAnAlteredRecord) {
  AppendThree();
  Exec("UPDATE audit_log SET subject_ref='someone-else' WHERE seq=2");
  auto v = store_->VerifyAudit();
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->problem, "record 2 was altered (its hash does not match)");
}

TEST_F(SqliteStoreTest, AuditChainFindsADeletedRecord) {
  AppendThree();
  Exec("DELETE FROM audit_log WHERE seq=2");
  auto v = store_->VerifyAudit();
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->problem, "record 2 is missing (next is 3)");
}

TEST_F(SqliteStoreTest, AuditChainFindsReorderedRecords) {
  AppendThree();
  // Swap the contents of records 2 and 3, keeping their sequence numbers.
  Exec(
      "UPDATE audit_log SET seq=-2 WHERE seq=2; UPDATE audit_log SET seq=2 WHERE seq=3;"
      "UPDATE audit_log SET seq=3 WHERE seq=-2;");
  auto v = store_->VerifyAudit();
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->problem, "record 2 does not follow record 1 (removed or reordered)");
}

}  // namespace
}  // namespace kaigo::engine

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>

#include "engine/store/audit_chain.h"
#include "engine/store/store.h"

namespace kaigo::engine {
namespace {

AuditKeyring Keys(const std::string& id, const std::string& secret) {
  AuditKeyring keys;
  keys.signing_id = id;
  keys.secrets[id] = secret;
  return keys;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kaigo-store-XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = dir_ + "/state.db";
    auto store = OpenSqliteStore(path_, keys_);
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
  AuditKeyring keys_ = Keys("a1", std::string(32, 'k'));
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
  auto reopened = OpenSqliteStore(path_, keys_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(*(*reopened)->Get("a", "1", "k"), "kept");
}

TEST_F(SqliteStoreTest, AuditChainVerifies) {
  AppendThree();
  auto v = VerifyAudit(*store_, keys_);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->records, 3);
}

TEST_F(SqliteStoreTest, AuditChainFindsAnAlteredRecord) {
  AppendThree();
  Exec("UPDATE audit_log SET subject_ref='someone-else' WHERE seq=2");
  auto v = VerifyAudit(*store_, keys_);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->problem,
            "record 2 was altered, or the audit key 'a1' configured is not the one it was written "
            "with (its HMAC does not match)");
}

TEST_F(SqliteStoreTest, AuditChainFindsADeletedRecord) {
  AppendThree();
  Exec("DELETE FROM audit_log WHERE seq=2");
  auto v = VerifyAudit(*store_, keys_);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->problem, "record 2 is missing (next is 3)");
}

TEST_F(SqliteStoreTest, AuditChainFindsReorderedRecords) {
  AppendThree();
  // Swap the contents of records 2 and 3, keeping their sequence numbers.
  Exec(
      "UPDATE audit_log SET seq=-2 WHERE seq=2; UPDATE audit_log SET seq=2 WHERE seq=3;"
      "UPDATE audit_log SET seq=3 WHERE seq=-2;");
  auto v = VerifyAudit(*store_, keys_);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->problem, "record 2 does not follow record 1 (removed or reordered)");
}

TEST_F(SqliteStoreTest, AuditRecordsCarryTheKeyIdAndNeedTheKey) {
  AppendThree();
  std::vector<std::string> ids;
  ASSERT_TRUE(store_
                  ->ScanAudit([&](const StoredAuditRecord& s) {
                    ids.push_back(s.record.key_id);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"a1", "a1", "a1"}));
  auto wrong = VerifyAudit(*store_, Keys("a1", std::string(32, 'x')));
  EXPECT_FALSE(wrong->ok);
  EXPECT_NE(wrong->problem.find("record 1 was altered, or the audit key 'a1'"), std::string::npos)
      << wrong->problem;
  auto missing = VerifyAudit(*store_, AuditKeyring());
  EXPECT_FALSE(missing->ok);
  EXPECT_NE(missing->problem.find("record 1 cannot be checked: the audit key 'a1' is not "
                                  "configured"),
            std::string::npos)
      << missing->problem;
  auto head = store_->AuditChainHead();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->length, 3);
  EXPECT_EQ(head->key_id, "a1");
  EXPECT_EQ(head->hash.substr(0, 3), "h1:");
}

TEST_F(SqliteStoreTest, AStoreWithoutAnAuditKeyRefusesRecords) {
  auto keyless = OpenSqliteStore("", AuditKeyring());
  ASSERT_TRUE(keyless.ok());
  AuditRecord r;
  r.action = "x";
  EXPECT_EQ((*keyless)->AppendAudit(r).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SqliteStoreTest, ARetiredKeyStillVerifiesItsRecords) {
  AppendThree();
  store_.reset();
  AuditKeyring rotated = Keys("a2", std::string(32, 'n'));
  rotated.secrets["a1"] = keys_.secrets["a1"];
  auto store = OpenSqliteStore(path_, rotated);
  ASSERT_TRUE(store.ok());
  AuditRecord r;
  r.action = "after rotation";
  ASSERT_TRUE((*store)->AppendAudit(r).ok());
  auto v = VerifyAudit(**store, rotated);
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->keyed, 4);
}

// A record rewritten by someone with the database but not the key: the hash recomputed as the
// unkeyed chain did.
TEST_F(SqliteStoreTest, AuditChainFindsARecordRewrittenWithAnUnkeyedHash) {
  AppendThree();
  AuditRecord forged;
  std::string prev, hash;
  ASSERT_TRUE(store_
                  ->ScanAudit([&](const StoredAuditRecord& s) {
                    if (s.seq == 2) {
                      forged = s.record;
                      prev = s.prev_hash;
                    }
                    return true;
                  })
                  .ok());
  forged.subject_ref = "someone-else";
  Exec("UPDATE audit_log SET subject_ref='someone-else', hash='" +
       AuditHashUnkeyed(prev, 2, forged) + "' WHERE seq=2");
  auto v = VerifyAudit(*store_, keys_);
  EXPECT_FALSE(v->ok);
  EXPECT_NE(v->problem.find("record 2 was altered"), std::string::npos) << v->problem;
  // Dropping its key id too: an unkeyed record after keyed ones.
  forged.key_id.clear();
  Exec("UPDATE audit_log SET key_id='', hash='" + AuditHashUnkeyed(prev, 2, forged) +
       "' WHERE seq=2");
  v = VerifyAudit(*store_, keys_);
  EXPECT_FALSE(v->ok);
  EXPECT_NE(v->problem.find("record 2 carries no key id after keyed records"), std::string::npos)
      << v->problem;
}

// Records from before the chain was keyed (no key id, plain SHA-256) verify as its prefix, and the
// keyed records after them protect them: rewriting one breaks the first keyed link.
TEST_F(SqliteStoreTest, AnUnkeyedPrefixStaysVerifiable) {
  std::string prev;
  for (int seq = 1; seq <= 2; ++seq) {
    AuditRecord r;
    r.time_ms = seq;
    r.action = "before keys";
    std::string hash = AuditHashUnkeyed(prev, seq, r);
    Exec(
        "INSERT INTO audit_log(seq,time_ms,caller,office,plugin,action,subject_ref,outcome,"
        "detail,request_id,prev_hash,hash) VALUES(" +
        std::to_string(seq) + "," + std::to_string(seq) + ",'','','','before keys','',0,'','','" +
        prev + "','" + hash + "')");
    prev = hash;
  }
  AppendThree();
  auto v = VerifyAudit(*store_, keys_);
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->unkeyed, 2);
  EXPECT_EQ(v->keyed, 3);
  AuditRecord forged;
  forged.time_ms = 2;
  forged.action = "rewritten";
  std::string first;
  ASSERT_TRUE(store_
                  ->ScanAudit([&](const StoredAuditRecord& s) {
                    if (s.seq == 1) first = s.hash;
                    return true;
                  })
                  .ok());
  std::string forged_hash = AuditHashUnkeyed(first, 2, forged);
  Exec("UPDATE audit_log SET action='rewritten', hash='" + forged_hash +
       "' WHERE seq=2;"
       "UPDATE audit_log SET prev_hash='" +
       forged_hash + "' WHERE seq=3");
  v = VerifyAudit(*store_, keys_);
  EXPECT_FALSE(v->ok);
  EXPECT_NE(v->problem.find("record 3 was altered"), std::string::npos) << v->problem;
}

}  // namespace
}  // namespace kaigo::engine

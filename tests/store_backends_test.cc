// The store's contract, run against both backends: SQLite (a file) and PostgreSQL (a real server
// started by the test). Keys per plugin and office, binary values, prefix listing in key order;
// the audit chain from two store handles appending at once (two engines on one database) stays one
// verifiable chain; a record altered in the database is found; migrations apply once and refuse a
// database newer than the engine. Compare-and-set: versions change with every write and never
// return; two handles incrementing one counter lose no increment.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "engine/store/audit_chain.h"
#include "engine/store/store.h"
#include "tests/support/postgres_server.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

using engine::AuditRecord;
using engine::Store;

PostgresServer* g_postgres = nullptr;

class StoreBackendsTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    auto pg = PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    g_postgres = pg->release();
  }
  static void TearDownTestSuite() { delete g_postgres; }

  void SetUp() override {
    static int n = 0;
    if (GetParam() == "sqlite") {
      location_ = dir_.path() + "/state.db";
    } else {
      auto db = g_postgres->Database("store_test_" + std::to_string(++n));
      ASSERT_TRUE(db.ok()) << db.status();
      location_ = *db;
    }
    store_ = Open();
  }

  engine::PostgresOptions Postgres() const {
    engine::PostgresOptions options;
    options.conninfo = location_;
    return options;
  }

  std::unique_ptr<Store> Open() {
    auto store = GetParam() == "sqlite" ? engine::OpenSqliteStore(location_, keys_)
                                        : engine::OpenPostgresStore(Postgres(), keys_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // SQL run on the backend directly, as someone with access to the database would.
  void Tamper(const std::string& sql) {
    if (GetParam() == "sqlite") {
      CommandResult r = RunCommand("sqlite3 " + location_ + " \"" + sql + "\"");
      ASSERT_EQ(r.exit_code, 0) << r.output;
    } else {
      PGconn* c = PQconnectdb(location_.c_str());
      PGresult* r = PQexec(c, sql.c_str());
      EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(c);
      PQclear(r);
      PQfinish(c);
    }
  }

  static AuditRecord Record(const std::string& caller, int i) {
    AuditRecord r;
    r.time_ms = 1000 + i;
    r.caller = caller;
    r.office = "1371000017";
    r.plugin = "qualification";
    r.action = "/kaigo.v1.QualificationService/LookupByInsuredNumber";
    r.subject_ref = "ref-" + std::to_string(i);
    return r;
  }

  TempDir dir_;
  std::string location_;
  engine::AuditKeyring keys_{"a1", {{"a1", std::string(32, 'k')}}};
  std::unique_ptr<Store> store_;
};

TEST_P(StoreBackendsTest, KeysPerPluginAndOfficeWithBinaryValues) {
  ASSERT_TRUE(store_->Put("a", "1", "k", "v1").ok());
  ASSERT_TRUE(store_->Put("a", "2", "k", "v2").ok());
  ASSERT_TRUE(store_
                  ->Put("b", "1", "k",
                        std::string("\0\xFF\x80"
                                    "bin",
                                    6))
                  .ok());
  EXPECT_EQ(*store_->Get("a", "1", "k"), "v1");
  EXPECT_EQ(*store_->Get("a", "2", "k"), "v2");
  EXPECT_EQ(*store_->Get("b", "1", "k"), std::string("\0\xFF\x80"
                                                     "bin",
                                                     6));
  EXPECT_EQ(store_->Get("b", "2", "k").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->Put("a", "1", "k", "v1b").ok());
  EXPECT_EQ(*store_->Get("a", "1", "k"), "v1b");
  EXPECT_TRUE(store_->Delete("a", "1", "k").ok());
  EXPECT_EQ(store_->Delete("a", "1", "k").code(), absl::StatusCode::kNotFound);
  for (const char* key : {"app/2", "att/1", "app/10", "app/1", "apq"}) {
    ASSERT_TRUE(store_->Put("p", "o", key, key).ok());
  }
  std::vector<std::string> listed;
  ASSERT_TRUE(store_
                  ->List("p", "o", "app/",
                         [&](std::string_view k, std::string_view v) {
                           EXPECT_EQ(k, v);
                           listed.emplace_back(k);
                         })
                  .ok());
  EXPECT_EQ(listed, (std::vector<std::string>{"app/1", "app/10", "app/2"}));
}

// What a migration over every value (engine/store/sealing_store.h) walks, and its compaction.
TEST_P(StoreBackendsTest, NamespacesListedAndCompacted) {
  for (auto [plugin, office] :
       {std::pair<const char*, const char*>{"b", "2"}, {"a", "1"}, {"a", "2"}, {"a", "1"}}) {
    ASSERT_TRUE(store_->Put(plugin, office, "k", "v").ok());
  }
  ASSERT_TRUE(store_->Put("c", "9", "gone", "v").ok());
  ASSERT_TRUE(store_->Delete("c", "9", "gone").ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(store_
                  ->ListNamespaces([&](std::string_view plugin, std::string_view office) {
                    seen.push_back(std::string(plugin) + "/" + std::string(office));
                  })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a/1", "a/2", "b/2"}));
  ASSERT_TRUE(store_->Compact().ok());
  EXPECT_EQ(*store_->Get("b", "2", "k"), "v");
  ASSERT_TRUE(store_->AppendAudit(Record("engine", 1)).ok());
}

TEST_P(StoreBackendsTest, TwoWritersMakeOneChain) {
  std::unique_ptr<Store> other = Open();  // a second engine on the same database
  ASSERT_NE(other, nullptr);
  std::thread a([&] {
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(store_->AppendAudit(Record("engine-a", i)).ok());
  });
  std::thread b([&] {
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(other->AppendAudit(Record("engine-b", i)).ok());
  });
  a.join();
  b.join();
  auto v = engine::VerifyAudit(*store_, keys_);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->records, 100);
}

TEST_P(StoreBackendsTest, AnAlteredRecordIsFound) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->AppendAudit(Record("x", i)).ok());
  Tamper("UPDATE audit_log SET subject_ref = 'someone-else' WHERE seq = 2");
  auto v = engine::VerifyAudit(*store_, keys_);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_NE(v->problem.find("record 2 was altered"), std::string::npos) << v->problem;
}

TEST_P(StoreBackendsTest, ReopeningKeepsTheDataAndMigratesOnce) {
  ASSERT_TRUE(store_->Put("p", "o", "k", "kept").ok());
  store_.reset();
  store_ = Open();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(*store_->Get("p", "o", "k"), "kept");
  if (GetParam() == "postgres") {
    Tamper("INSERT INTO schema_migrations(version) VALUES (99)");
    auto newer = engine::OpenPostgresStore(Postgres(), keys_);
    EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(newer.status().message().find("schema version 99"), std::string::npos);
  }
}

TEST_P(StoreBackendsTest, ConditionalWritesSeeEveryOtherWrite) {
  // Absent: only "must not exist" (0) writes.
  EXPECT_EQ(store_->PutIf("p", "1", "k", "x", 7).status().code(), absl::StatusCode::kAborted);
  auto first = store_->PutIf("p", "1", "k", "v1", 0);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_GT(*first, 0);
  EXPECT_EQ(store_->PutIf("p", "1", "k", "again", 0).status().code(), absl::StatusCode::kAborted);
  auto read = store_->GetVersioned("p", "1", "k");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->value, "v1");
  EXPECT_EQ(read->version, *first);
  // A plain Put is a change too: a write from the version read before it is refused.
  ASSERT_TRUE(store_->Put("p", "1", "k", "v2").ok());
  EXPECT_EQ(store_->PutIf("p", "1", "k", "lost", *first).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(*store_->Get("p", "1", "k"), "v2");
  auto second = store_->GetVersioned("p", "1", "k");
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->version, *first);
  auto third = store_->PutIf("p", "1", "k", "v3", second->version);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(*store_->Get("p", "1", "k"), "v3");
  // Deleted and written again, the key never returns to a version it had.
  ASSERT_TRUE(store_->Delete("p", "1", "k").ok());
  EXPECT_EQ(store_->PutIf("p", "1", "k", "gone", *third).status().code(),
            absl::StatusCode::kAborted);
  auto again = store_->PutIf("p", "1", "k", "v4", 0);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *first);
  EXPECT_NE(*again, *third);
  // Versions are per (plugin, office, key).
  EXPECT_EQ(store_->GetVersioned("p", "2", "k").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreBackendsTest, TwoEnginesCountingTogetherLoseNoIncrement) {
  // Two store handles (two engines on one database), four threads each, incrementing one counter
  // by read → compare-and-set → retry: the count is exact.
  std::unique_ptr<Store> other = Open();
  ASSERT_NE(other, nullptr);
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> threads;
  std::atomic<int> conflicts{0};
  for (int t = 0; t < 2 * kThreads; ++t) {
    Store* store = t % 2 == 0 ? store_.get() : other.get();
    threads.emplace_back([store, &conflicts] {
      for (int i = 0; i < kEach; ++i) {
        for (;;) {
          auto current = store->GetVersioned("careplan_exchange", "1", "sequence/last");
          int64_t n = current.ok() ? std::stoll(current->value) : 0;
          auto written = store->PutIf("careplan_exchange", "1", "sequence/last",
                                      std::to_string(n + 1), current.ok() ? current->version : 0);
          if (written.ok()) break;
          ASSERT_EQ(written.status().code(), absl::StatusCode::kAborted) << written.status();
          ++conflicts;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(*store_->Get("careplan_exchange", "1", "sequence/last"),
            std::to_string(2 * kThreads * kEach));
  std::cout << "conflicts retried: " << conflicts.load() << "\n";
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreBackendsTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kaigo::testing

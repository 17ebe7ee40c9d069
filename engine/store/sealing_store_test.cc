#include "engine/store/sealing_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace kaigo::engine {
namespace {

AuditKeyring AuditKeys() {
  AuditKeyring keys;
  keys.signing_id = "a1";
  keys.secrets["a1"] = std::string(64, 'a');
  return keys;
}

SealingKeyring SealingKeys(const std::string& id, const std::string& secret) {
  SealingKeyring keys;
  keys.signing_id = id;
  keys.secrets[id] = secret;
  return keys;
}

class SealingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kaigo-sealing-XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = dir_ + "/state.db";
  }
  void TearDown() override {
    std::string cmd = "rm -rf " + dir_;
    ASSERT_EQ(system(cmd.c_str()), 0);
  }
  std::unique_ptr<Store> Raw() {
    auto store = OpenSqliteStore(path_, AuditKeys());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  std::unique_ptr<SealingStore> Sealed(SealingKeyring keys) {
    auto store = SealingStore::Create(Raw(), std::move(keys));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  // Every byte of the database's files (main, WAL, shared memory).
  std::string Files() {
    std::string all;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::ifstream in(path_ + suffix, std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), {});
    }
    return all;
  }

  std::string dir_, path_;
  const std::string k1_ = std::string(64, '1'), k2_ = std::string(64, '2');
};

TEST_F(SealingStoreTest, RoundTripAndNothingInClear) {
  auto store = Sealed(SealingKeys("s1", k1_));
  ASSERT_TRUE(store->Put("p", "1371000017", "user/1", "佐藤 花子 hanako@example.jp").ok());
  ASSERT_TRUE(store->Put("p", "1371000017", "empty", "").ok());
  EXPECT_EQ(*store->Get("p", "1371000017", "user/1"), "佐藤 花子 hanako@example.jp");
  EXPECT_EQ(*store->Get("p", "1371000017", "empty"), "");
  auto raw = store->inner().Get("p", "1371000017", "user/1");
  ASSERT_TRUE(raw.ok());
  EXPECT_TRUE(IsSealedValue(*raw));
  EXPECT_EQ(raw->find("hanako"), std::string::npos);
  auto v = store->GetVersioned("p", "1371000017", "user/1");
  ASSERT_TRUE(v.ok());
  auto written = store->PutIf("p", "1371000017", "user/1", "changed", v->version);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(store->PutIf("p", "1371000017", "user/1", "stale", v->version).status().code(),
            absl::StatusCode::kAborted);
  std::vector<std::pair<std::string, std::string>> listed;
  ASSERT_TRUE(store
                  ->List("p", "1371000017", "",
                         [&](std::string_view k, std::string_view v) { listed.emplace_back(k, v); })
                  .ok());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1].second, "changed");
  store.reset();
  EXPECT_EQ(Files().find("hanako"), std::string::npos);
}

TEST_F(SealingStoreTest, WrongKeyIsDataLoss) {
  ASSERT_TRUE(Sealed(SealingKeys("s1", k1_))->Put("p", "o", "k", "secret").ok());
  // Another key under the same id.
  auto other = Sealed(SealingKeys("s1", k2_));
  auto got = other->Get("p", "o", "k");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(got.status().message().find("p/o/k"), std::string::npos) << got.status();
  // A key id the keyring does not know.
  auto unknown = Sealed(SealingKeys("s2", k2_))->Get("p", "o", "k");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(unknown.status().message().find("s1"), std::string::npos) << unknown.status();
}

TEST_F(SealingStoreTest, TamperedOrMovedValuesAreRefused) {
  auto store = Sealed(SealingKeys("s1", k1_));
  ASSERT_TRUE(store->Put("p", "1", "a", "value of a").ok());
  std::string sealed = *store->inner().Get("p", "1", "a");
  // Moved to another key, plugin or office: refused.
  ASSERT_TRUE(store->inner().Put("p", "1", "b", sealed).ok());
  ASSERT_TRUE(store->inner().Put("q", "1", "a", sealed).ok());
  ASSERT_TRUE(store->inner().Put("p", "2", "a", sealed).ok());
  EXPECT_EQ(store->Get("p", "1", "b").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->Get("q", "1", "a").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->Get("p", "2", "a").status().code(), absl::StatusCode::kDataLoss);
  // A flipped bit, a cut value, a value written in clear around the engine.
  std::string flipped = sealed;
  flipped[flipped.size() - 20] ^= 1;
  ASSERT_TRUE(store->inner().Put("p", "1", "a", flipped).ok());
  EXPECT_EQ(store->Get("p", "1", "a").status().code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(store->inner().Put("p", "1", "a", sealed.substr(0, 6)).ok());
  EXPECT_EQ(store->Get("p", "1", "a").status().code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(store->inner().Put("p", "1", "a", "clear").ok());
  EXPECT_EQ(store->Get("p", "1", "a").status().code(), absl::StatusCode::kDataLoss);
  // A list with one bad value fails whole.
  int called = 0;
  EXPECT_EQ(store->List("p", "1", "", [&](std::string_view, std::string_view) { ++called; }).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(called, 0);
}

TEST_F(SealingStoreTest, OfficeKeysSealTheirOfficesValues) {
  SealingKeyring keys = SealingKeys("engine", k1_);
  keys.office_ids["1371000017"] = "office-own";
  keys.secrets["office-own"] = k2_;
  auto store = Sealed(keys);
  ASSERT_TRUE(store->Put("p", "1371000017", "k", "own").ok());
  ASSERT_TRUE(store->Put("p", "1371000025", "k", "engine's").ok());
  EXPECT_NE(store->inner().Get("p", "1371000017", "k")->find("office-own"), std::string::npos);
  EXPECT_NE(store->inner().Get("p", "1371000025", "k")->find("engine"), std::string::npos);
  EXPECT_EQ(*store->Get("p", "1371000017", "k"), "own");
  // Without the office's key its values do not open; the other office's still do.
  store.reset();
  auto without = Sealed(SealingKeys("engine", k1_));
  EXPECT_EQ(without->Get("p", "1371000017", "k").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(*without->Get("p", "1371000025", "k"), "engine's");
  // A keyring naming an office key it lacks is refused.
  SealingKeyring broken = SealingKeys("engine", k1_);
  broken.office_ids["1371000017"] = "missing";
  EXPECT_EQ(SealingStore::Create(Raw(), broken).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealingStore::Create(Raw(), SealingKeys("short", "too short")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SealingStoreTest, MigrationSealsClearValuesInPlace) {
  {
    auto raw = Raw();
    ASSERT_TRUE(raw->Put("subsidy_filing", "1371000017", "draft/1", "口座 1234567 サトウ").ok());
    // What the portal plugin sealed itself under its office's key: opaque bytes, kept readable.
    ASSERT_TRUE(
        raw->Put("portal_registration", "1371000017", "pw", std::string("\x01\x02\x03", 3)).ok());
    ASSERT_TRUE(raw->AppendAudit({}).ok());
  }
  ASSERT_NE(Files().find("1234567"), std::string::npos);
  auto store = Sealed(SealingKeys("s1", k1_));
  auto counts = store->Reseal(/*rekey=*/false);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->examined, 2);
  EXPECT_EQ(counts->sealed, 2);
  EXPECT_EQ(*store->Get("subsidy_filing", "1371000017", "draft/1"), "口座 1234567 サトウ");
  EXPECT_EQ(*store->Get("portal_registration", "1371000017", "pw"), std::string("\x01\x02\x03", 3));
  // The old pages and WAL frames are gone too (secure_delete, VACUUM, WAL truncated).
  EXPECT_EQ(Files().find("1234567"), std::string::npos);
  // Idempotent.
  counts = store->Reseal(/*rekey=*/false);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->sealed, 0);
  EXPECT_EQ(counts->unchanged, 2);
  EXPECT_EQ(store->AuditChainHead()->length, 1);
}

TEST_F(SealingStoreTest, RekeyMovesValuesToTheCurrentKey) {
  ASSERT_TRUE(Sealed(SealingKeys("old", k1_))->Put("p", "o", "k", "value").ok());
  SealingKeyring rotated = SealingKeys("new", k2_);
  rotated.secrets["old"] = k1_;  // retired: still opens
  auto store = Sealed(rotated);
  EXPECT_EQ(*store->Get("p", "o", "k"), "value");
  ASSERT_TRUE(store->Put("p", "o", "fresh", "fresh").ok());
  auto counts = store->Reseal(/*rekey=*/true);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->resealed, 1);
  EXPECT_EQ(counts->unchanged, 1);
  counts = store->Reseal(/*rekey=*/true);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->resealed, 0);
  store.reset();
  // The retired key is no longer needed.
  auto after = Sealed(SealingKeys("new", k2_));
  EXPECT_EQ(*after->Get("p", "o", "k"), "value");
  // A value no configured key opens is counted, not touched.
  ASSERT_TRUE(Sealed(SealingKeys("gone", k1_))->Put("p", "o", "lost", "value").ok());
  counts = after->Reseal(/*rekey=*/true);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->unreadable, 1);
  EXPECT_NE(counts->first_unreadable.find("p/o/lost"), std::string::npos);
}

}  // namespace
}  // namespace kaigo::engine

// Compare-and-set through the SDK, on the fake host: StorePutIf refuses a stale version,
// StoreUpdate retries a read-modify-write until it lands and loses no concurrent update.
#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "kaigo/sdk/fake_host.h"
#include "kaigo/v1/otp.pb.h"
#include "lent_host.h"

namespace kaigo::sdk {
namespace {

using testing::FakeHost;

class StoreUpdateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake_.Load(internal::Export(KAIGO_ABI_VERSION, &LendingPlugin)).ok());
    ASSERT_TRUE(LentHost().has_value());
    ASSERT_TRUE(LentHost()->HasCompareAndSet());
  }
  void TearDown() override {
    fake_.Unload();
    LentHost().reset();
  }
  const HostServices& host() { return *LentHost(); }

  // Adds one to the number at `key`.
  HostServices::StoreChange Increment(int* runs = nullptr) {
    return [runs](const std::string* current) -> absl::StatusOr<std::optional<std::string>> {
      if (runs != nullptr) ++*runs;
      return std::to_string((current != nullptr ? std::stoi(*current) : 0) + 1);
    };
  }

  FakeHost fake_;
};

TEST_F(StoreUpdateTest, AConditionalWriteFromAStaleVersionIsAborted) {
  auto created = host().StorePutIf("k", "one", 0);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(host().StorePutIf("k", "again", 0).status().code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(host().StorePut("k", "two").ok());  // a plain write is a change too
  auto stale = host().StorePutIf("k", "lost", *created);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  auto read = host().StoreGetVersioned("k");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->value, "two");
  EXPECT_TRUE(host().StorePutIf("k", "three", read->version).ok());
  EXPECT_EQ(fake_.Store()["k"], "three");
  EXPECT_EQ(host().StoreGetVersioned("absent").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreUpdateTest, RetriesUntilItsWriteLands) {
  int runs = 0;
  fake_.InjectStoreConflicts(3);
  auto stored = host().StoreUpdate("n", Increment(&runs));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->value, "1");
  EXPECT_GT(stored->version, 0);
  EXPECT_EQ(runs, 4) << "three conflicts, then the write";

  fake_.InjectStoreConflicts(100);
  auto gave_up = host().StoreUpdate("n", Increment(), /*attempts=*/5);
  EXPECT_EQ(gave_up.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(fake_.Store()["n"], "1");
}

TEST_F(StoreUpdateTest, NothingToWriteAndErrorsEndTheUpdate) {
  auto untouched =
      host().StoreUpdate("k", [](const std::string*) -> absl::StatusOr<std::optional<std::string>> {
        return std::nullopt;
      });
  ASSERT_TRUE(untouched.ok());
  EXPECT_EQ(untouched->version, 0);
  EXPECT_TRUE(fake_.Store().empty());
  auto refused =
      host().StoreUpdate("k", [](const std::string*) -> absl::StatusOr<std::optional<std::string>> {
        return absl::FailedPreconditionError("no");
      });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(fake_.Store().empty());
}

TEST_F(StoreUpdateTest, ConcurrentUpdatesLoseNothing) {
  constexpr int kThreads = 8, kEach = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < kEach; ++i) EXPECT_TRUE(host().StoreUpdate("n", Increment()).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fake_.Store()["n"], std::to_string(kThreads * kEach));
}

TEST_F(StoreUpdateTest, MessagesAreEditedAsStored) {
  using kaigo::v1::PendingOtp;
  auto first = host().StoreUpdateMessage<PendingOtp>("otp", [](PendingOtp& m, bool exists) {
    EXPECT_FALSE(exists);
    m.set_otp_id("r1");
    return true;
  });
  ASSERT_TRUE(first.ok()) << first.status();
  fake_.InjectStoreConflicts(1);
  auto second = host().StoreUpdateMessage<PendingOtp>("otp", [](PendingOtp& m, bool exists) {
    EXPECT_TRUE(exists);
    EXPECT_EQ(m.otp_id(), "r1");  // as stored, on every attempt
    m.set_recipient_hint("hint");
    return true;
  });
  ASSERT_TRUE(second.ok()) << second.status();
  PendingOtp stored;
  ASSERT_TRUE(stored.ParseFromString(fake_.Store()["otp"]));
  EXPECT_EQ(stored.otp_id(), "r1");
  EXPECT_EQ(stored.recipient_hint(), "hint");
  ASSERT_TRUE(host().StorePut("otp", "not a message \xff").ok());
  auto unreadable =
      host().StoreUpdateMessage<PendingOtp>("otp", [](PendingOtp&, bool) { return true; });
  EXPECT_EQ(unreadable.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace kaigo::sdk

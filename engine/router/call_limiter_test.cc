// The call limiter: per office and per caller, each refused beyond its limit with
// RESOURCE_EXHAUSTED naming it, slots given back on release, and the configuration's zeros
// meaning the defaults.
#include "engine/router/call_limiter.h"

#include <gtest/gtest.h>

namespace kaigo::engine {
namespace {

CallLimits Limits(int per_office, int per_caller) {
  kaigo::v1::CallLimits config;
  config.set_per_office(per_office);
  config.set_per_caller(per_caller);
  return CallLimits::From(config);
}

TEST(CallLimiterTest, UnsetLimitsAreTheDefaults) {
  CallLimits limits = CallLimits::From(kaigo::v1::CallLimits());
  EXPECT_EQ(limits.per_office, 256);
  EXPECT_EQ(limits.per_caller, 1024);
  EXPECT_EQ(limits.stream_queue_messages, 4096);
  EXPECT_EQ(limits.watch_max_age_seconds, 3600);
  EXPECT_EQ(Limits(3, 0).per_office, 3);
}

TEST(CallLimiterTest, AnOfficeBeyondItsLimitIsRefusedUntilACallEnds) {
  CallLimiter limiter(Limits(2, 100));
  ASSERT_TRUE(limiter.Acquire("1371000017", "a").ok());
  ASSERT_TRUE(limiter.Acquire("1371000017", "b").ok());
  absl::Status s = limiter.Acquire("1371000017", "c");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("server.call_limits.per_office"), std::string::npos) << s;
  EXPECT_TRUE(limiter.Acquire("1371000025", "c").ok()) << "another office has its own";
  limiter.Release("1371000017", "a");
  EXPECT_TRUE(limiter.Acquire("1371000017", "c").ok());
}

TEST(CallLimiterTest, ACallerBeyondItsLimitIsRefusedAcrossOffices) {
  CallLimiter limiter(Limits(100, 2));
  ASSERT_TRUE(limiter.Acquire("1371000017", "desk").ok());
  ASSERT_TRUE(limiter.Acquire("1371000025", "desk").ok());
  absl::Status s = limiter.Acquire("1371000033", "desk");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("server.call_limits.per_caller"), std::string::npos) << s;
  EXPECT_TRUE(limiter.Acquire("1371000033", "other").ok());
  // The refused call took no office slot: that office still has all but one of its calls.
  CallLimiter tight(Limits(1, 1));
  ASSERT_TRUE(tight.Acquire("1371000017", "desk").ok());
  EXPECT_FALSE(tight.Acquire("1371000025", "desk").ok());
  EXPECT_TRUE(tight.Acquire("1371000025", "other").ok());
}

TEST(CallLimiterTest, ReleasedSlotsAreGivenBackInFull) {
  CallLimiter limiter(Limits(1, 1));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(limiter.Acquire("1371000017", "desk").ok()) << i;
    EXPECT_FALSE(limiter.Acquire("1371000017", "desk").ok()) << i;
    limiter.Release("1371000017", "desk");
  }
}

}  // namespace
}  // namespace kaigo::engine

// RequestOnce on the fake host: a retry gets the first answer without running again, another
// request under the same request_id is refused, a first still running is ABORTED until it is
// abandoned, and a failed first leaves nothing behind.
#include "kaigo/sdk/request_once.h"

#include <gtest/gtest.h>

#include <optional>

#include "google/rpc/error_details.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/fake_host.h"
#include "kaigo/v1/otp.pb.h"
#include "lent_host.h"

namespace kaigo::sdk {
namespace {

using kaigo::v1::ProvideOtpRequest;
using kaigo::v1::RequestOtpResponse;
using testing::FakeHost;

constexpr char kMethod[] = "/kaigo.v1.OtpService/ProvideOtp";

class RequestOnceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake_.Load(internal::Export(KAIGO_ABI_VERSION, &LendingPlugin)).ok());
    ASSERT_TRUE(LentHost().has_value());
  }
  void TearDown() override {
    fake_.Unload();
    LentHost().reset();
  }

  // A mutation that counts its runs and answers with the run's number.
  absl::StatusOr<RequestOtpResponse> Run(const ProvideOtpRequest& request,
                                         absl::Status fail = absl::OkStatus()) {
    return RequestOnce<RequestOtpResponse>(*LentHost(), kMethod, request,
                                           [&]() -> absl::StatusOr<RequestOtpResponse> {
                                             ++runs_;
                                             if (!fail.ok()) return fail;
                                             RequestOtpResponse r;
                                             r.set_code(std::to_string(runs_));
                                             return r;
                                           });
  }

  static ProvideOtpRequest Request(const std::string& id, const std::string& code = "1234") {
    ProvideOtpRequest r;
    r.set_otp_id("otp-1");
    r.set_code(code);
    r.set_request_id(id);
    return r;
  }

  FakeHost fake_;
  int runs_ = 0;
};

TEST_F(RequestOnceTest, ARetryGetsTheFirstAnswerAndRunsNothing) {
  auto first = Run(Request("retry-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = Run(Request("retry-1"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->code(), first->code());
  EXPECT_EQ(runs_, 1);
  // Another request_id is another request; no request_id runs every time.
  ASSERT_TRUE(Run(Request("retry-2")).ok());
  ASSERT_TRUE(Run(Request("")).ok());
  ASSERT_TRUE(Run(Request("")).ok());
  EXPECT_EQ(runs_, 4);
  // The key names neither the request_id nor the method.
  for (const auto& [key, value] : fake_.Store()) {
    EXPECT_EQ(key.find("retry"), std::string::npos) << key;
    EXPECT_EQ(key.find("ProvideOtp"), std::string::npos) << key;
  }
}

TEST_F(RequestOnceTest, TheSameRequestIdWithAnotherRequestIsRefused) {
  ASSERT_TRUE(Run(Request("reused", "1234")).ok());
  auto other = Run(Request("reused", "9999"));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition) << other.status();
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(FindDetail(other.status(), &info));
  EXPECT_EQ(info.reason(), "REQUEST_ID_REUSED");
  EXPECT_EQ(runs_, 1);
}

TEST_F(RequestOnceTest, AFailedFirstLeavesNothingAndItsRetryRuns) {
  auto failed = Run(Request("flaky"), absl::UnavailableError("upstream down"));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  auto retried = Run(Request("flaky"));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(runs_, 2);
}

TEST_F(RequestOnceTest, AFirstStillRunningIsAbortedUntilAbandoned) {
  // A first attempt that began and never finished (its engine ended mid-way).
  auto ticket = BeginRequest(*LentHost(), kMethod, Request("midway"));
  ASSERT_TRUE(ticket.ok()) << ticket.status();
  ASSERT_FALSE(ticket->answer.has_value());
  auto busy = Run(Request("midway"));
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kAborted) << busy.status();
  google::rpc::RetryInfo retry;
  EXPECT_TRUE(FindDetail(busy.status(), &retry));
  EXPECT_EQ(runs_, 0);

  fake_.SetClockOffset(kAbandonedAfter + absl::Seconds(1));
  auto taken_over = Run(Request("midway"));
  ASSERT_TRUE(taken_over.ok()) << taken_over.status();
  EXPECT_EQ(runs_, 1);
  // The abandoned attempt finishing late does not overwrite the answer given.
  RequestOtpResponse late;
  late.set_code("late");
  FinishRequest(*LentHost(), *ticket, late.SerializeAsString());
  auto again = Run(Request("midway"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->code(), taken_over->code());
}

TEST_F(RequestOnceTest, ARequestIdMustBePrintableAndShort) {
  for (const std::string& id : {std::string(129, 'a'), std::string("tab\there")}) {
    auto refused = Run(Request(id));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    google::rpc::BadRequest bad;
    ASSERT_TRUE(FindDetail(refused.status(), &bad));
    EXPECT_EQ(bad.field_violations(0).field(), "request_id");
  }
  EXPECT_EQ(runs_, 0);
}

}  // namespace
}  // namespace kaigo::sdk

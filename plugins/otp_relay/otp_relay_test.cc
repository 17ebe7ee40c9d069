#include "otp_relay.h"

#include <gtest/gtest.h>

#include "kaigo/sdk/fake_host.h"

namespace kaigo::plugins::otp_relay {
namespace {

using sdk::testing::FakeHost;

constexpr char kRequest[] = "/kaigo.v1.OtpService/RequestOtp";
constexpr char kProvide[] = "/kaigo.v1.OtpService/ProvideOtp";
constexpr char kList[] = "/kaigo.v1.OtpService/ListPending";
constexpr char kWatch[] = "/kaigo.v1.OtpService/WatchPending";

const kaigo_plugin_api* Api() {
  static const kaigo_plugin_api* const api = sdk::ExportPlugin(Define());
  return api;
}

std::string RequestBytes(int timeout_seconds = 0) {
  kaigo::v1::RequestOtpRequest r;
  r.set_purpose(kaigo::v1::OTP_PURPOSE_ECLAIM_REGISTRATION);
  r.set_recipient_hint("e-claim address");
  r.mutable_timeout()->set_seconds(timeout_seconds);
  return r.SerializeAsString();
}

// Waits until ListPending shows `count` requests and returns them.
std::vector<kaigo::v1::PendingOtp> AwaitPending(FakeHost& host, int count) {
  for (int i = 0; i < 100; ++i) {
    auto list =
        host.CallUnary<kaigo::v1::ListPendingResponse>(kList, kaigo::v1::ListPendingRequest());
    if (list.ok() && list->pending_size() == count) {
      return {list->pending().begin(), list->pending().end()};
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ADD_FAILURE() << "never saw " << count << " pending requests";
  return {};
}

TEST(OtpRelayTest, OperatorAnswerReachesTheWaitingRequest) {
  FakeHost host;
  ASSERT_TRUE(host.Load(Api()).ok());
  auto waiting = host.Start(kRequest, RequestBytes());
  auto pending = AwaitPending(host, 1);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].purpose(), kaigo::v1::OTP_PURPOSE_ECLAIM_REGISTRATION);

  kaigo::v1::ProvideOtpRequest provide;
  provide.set_otp_id(pending[0].otp_id());
  provide.set_code("493817");
  ASSERT_TRUE(host.CallUnary<kaigo::v1::ProvideOtpResponse>(kProvide, provide).ok());

  ASSERT_TRUE(waiting->WaitFinished(absl::Seconds(5)));
  auto result = waiting->Result();
  ASSERT_TRUE(result.status.ok()) << result.status;
  kaigo::v1::RequestOtpResponse response;
  ASSERT_TRUE(response.ParseFromString(result.response));
  EXPECT_EQ(response.code(), "493817");
  EXPECT_EQ(response.otp_id(), pending[0].otp_id());
  AwaitPending(host, 0);
  EXPECT_TRUE(host.Store().empty()) << "answered requests leave nothing in the store";
}

TEST(OtpRelayTest, TheFirstAnswerStands) {
  // Two operators answer one request (on one engine or two): the second never replaces the code
  // the requester may already have taken — refused while the first waits, unknown once taken.
  FakeHost host;
  ASSERT_TRUE(host.Load(Api()).ok());
  auto waiting = host.Start(kRequest, RequestBytes());
  auto pending = AwaitPending(host, 1);
  ASSERT_EQ(pending.size(), 1u);
  kaigo::v1::ProvideOtpRequest provide;
  provide.set_otp_id(pending[0].otp_id());
  provide.set_code("111111");
  ASSERT_TRUE(host.CallUnary<kaigo::v1::ProvideOtpResponse>(kProvide, provide).ok());
  provide.set_code("222222");
  auto second = host.CallUnary<kaigo::v1::ProvideOtpResponse>(kProvide, provide);
  EXPECT_TRUE(second.status().code() == absl::StatusCode::kAlreadyExists ||
              second.status().code() == absl::StatusCode::kNotFound)
      << second.status();
  ASSERT_TRUE(waiting->WaitFinished(absl::Seconds(5)));
  kaigo::v1::RequestOtpResponse response;
  ASSERT_TRUE(response.ParseFromString(waiting->Result().response));
  EXPECT_EQ(response.code(), "111111");
}

TEST(OtpRelayTest, RejectsMalformedCodesAndUnknownRequests) {
  FakeHost host;
  ASSERT_TRUE(host.Load(Api()).ok());
  kaigo::v1::ProvideOtpRequest provide;
  provide.set_otp_id("nope");
  for (const char* bad : {"", "123", "123456789", "12a456", "１２３４５６"}) {
    provide.set_code(bad);
    auto r = host.CallUnary<kaigo::v1::ProvideOtpResponse>(kProvide, provide);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("code:"), std::string_view::npos);
  }
  provide.set_code("123456");
  EXPECT_EQ(host.CallUnary<kaigo::v1::ProvideOtpResponse>(kProvide, provide).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(OtpRelayTest, CancelWithdrawsThePendingRequest) {
  FakeHost host;
  ASSERT_TRUE(host.Load(Api()).ok());
  auto waiting = host.Start(kRequest, RequestBytes());
  AwaitPending(host, 1);
  waiting->Cancel();
  ASSERT_TRUE(waiting->WaitFinished(absl::Seconds(5)));
  EXPECT_EQ(waiting->Result().status.code(), absl::StatusCode::kCancelled);
  AwaitPending(host, 0);
}

TEST(OtpRelayTest, RequestTimesComeFromTheHostsClock) {
  FakeHost host;
  host.SetJapanTime(absl::CivilSecond(2028, 3, 31, 23, 59, 0));
  ASSERT_TRUE(host.Load(Api()).ok());
  auto waiting = host.Start(kRequest, RequestBytes(120));
  auto pending = AwaitPending(host, 1);
  ASSERT_EQ(pending.size(), 1u);
  absl::Time asked = absl::FromCivil(absl::CivilSecond(2028, 3, 31, 23, 59, 0), JapanTime());
  EXPECT_NEAR(pending[0].request_time().seconds(), absl::ToUnixSeconds(asked), 5);
  EXPECT_EQ(pending[0].expire_time().seconds(), pending[0].request_time().seconds() + 120);
  waiting->Cancel();
  ASSERT_TRUE(waiting->WaitFinished(absl::Seconds(5)));
}

TEST(OtpRelayTest, ExpiresAfterItsTimeout) {
  FakeHost host;
  ASSERT_TRUE(host.Load(Api()).ok());
  auto waiting = host.Start(kRequest, RequestBytes(1));
  ASSERT_TRUE(waiting->WaitFinished(absl::Seconds(5)));
  EXPECT_EQ(waiting->Result().status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(host.Metric("otp_expired"), 1);
}

TEST(OtpRelayTest, WatchersSeeAddedThenAnswered) {
  FakeHost host;
  ASSERT_TRUE(host.Load(Api()).ok());
  auto watch = host.Start(kWatch, "");
  auto waiting = host.Start(kRequest, RequestBytes());
  ASSERT_TRUE(watch->WaitForMessages(1, absl::Seconds(5)));
  kaigo::v1::WatchPendingResponse first;
  ASSERT_TRUE(first.ParseFromString(watch->Result().messages[0]));
  const kaigo::v1::PendingOtpEvent& added = first.event();
  EXPECT_EQ(added.kind(), kaigo::v1::PendingOtpEvent::KIND_ADDED);

  kaigo::v1::ProvideOtpRequest provide;
  provide.set_otp_id(added.otp().otp_id());
  provide.set_code("1234");
  ASSERT_TRUE(host.CallUnary<kaigo::v1::ProvideOtpResponse>(kProvide, provide).ok());
  ASSERT_TRUE(waiting->WaitFinished(absl::Seconds(5)));

  bool answered = false;
  for (int i = 0; i < 50 && !answered; ++i) {
    for (const auto& m : watch->Result().messages) {
      kaigo::v1::WatchPendingResponse e;
      e.ParseFromString(m);
      answered |= e.event().kind() == kaigo::v1::PendingOtpEvent::KIND_ANSWERED;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(answered);
  watch->Cancel();
  ASSERT_TRUE(watch->WaitFinished(absl::Seconds(5)));
  EXPECT_EQ(watch->Result().status.code(), absl::StatusCode::kCancelled);
}

TEST(OtpRelayTest, GarbageAndBadSettingsAreInvalidArgument) {
  FakeHost host;
  ASSERT_TRUE(host.Load(Api()).ok());
  EXPECT_EQ(host.Call(kRequest, std::string("\xff\xff\xff", 3)).status.code(),
            absl::StatusCode::kInvalidArgument);
  kaigo::v1::RequestOtpRequest no_purpose;
  auto r = host.Call(kRequest, no_purpose.SerializeAsString());
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status.message().find("purpose"), std::string_view::npos);

  FakeHost bad;
  kaigo::plugins::v1::OtpRelayConfig config;
  config.set_default_timeout_seconds(99999);
  absl::Status s = bad.Load(Api(), config.SerializeAsString());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("default_timeout_seconds"), std::string_view::npos);
}

}  // namespace
}  // namespace kaigo::plugins::otp_relay

// OtpMailbox on the SDK's fake host with a mailbox of the test's own (the Mailbox seam in
// imap_client.h): which mail's code a request takes (the newest with the purpose's subject sent
// after the request, each mail once), the timeout rules (the request's, capped by
// max_timeout_seconds; the default), what ends a wait early (three login refusals, the caller
// cancelling), a matching mail too large to read named in the error, and the settings refused.
#include "otp_mailbox.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kaigo/plugins/v1/otp_mailbox_config.pb.h"
#include "kaigo/sdk/fake_host.h"
#include "kaigo/v1/otp.pb.h"

namespace kaigo::plugins::otp_mailbox {
namespace {

namespace v1 = kaigo::v1;
using kaigo::plugins::v1::OtpMailboxConfig;
using sdk::testing::FakeHost;

constexpr char kLoginSubject[] = "【介護情報基盤ポータル】ワンタイムパスワード発行通知";
constexpr char kRequestOtp[] = "/kaigo.v1.OtpService/RequestOtp";

// Mail by UID, as the server would hand it out.
class FakeMailbox {
 public:
  void Add(uint32_t uid, const std::string& subject, absl::Time date, const std::string& code) {
    std::lock_guard<std::mutex> lock(mu_);
    heads_[uid] = absl::StrCat(
        "Subject: ", subject,
        "\r\nDate: ", absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", date, absl::UTCTimeZone()));
    bodies_[uid] = "Content-Type: text/plain; charset=UTF-8\r\n\r\nワンタイムパスワード：" + code +
                   "\r\n有効期限：発行から10分\r\n";
  }
  void Oversize(uint32_t uid) {
    std::lock_guard<std::mutex> lock(mu_);
    oversized_.insert(uid);
  }
  void RefuseLogins() {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = true;
  }
  int searches() {
    std::lock_guard<std::mutex> lock(mu_);
    return searches_;
  }

  absl::StatusOr<std::vector<uint32_t>> UidsSince() {
    std::lock_guard<std::mutex> lock(mu_);
    ++searches_;
    if (refuse_) return absl::UnauthenticatedError("mailbox: login refused");
    std::vector<uint32_t> uids;
    for (const auto& [uid, head] : heads_) uids.push_back(uid);
    return uids;
  }
  absl::StatusOr<std::string> Headers(uint32_t uid) {
    std::lock_guard<std::mutex> lock(mu_);
    return heads_.at(uid);
  }
  absl::StatusOr<std::string> Message(uint32_t uid) {
    std::lock_guard<std::mutex> lock(mu_);
    if (oversized_.count(uid)) {
      return absl::ResourceExhaustedError("mailbox: the mail server's answer is larger");
    }
    return heads_.at(uid) + "\r\n" + bodies_.at(uid);
  }

 private:
  std::mutex mu_;
  std::map<uint32_t, std::string> heads_;
  std::map<uint32_t, std::string> bodies_;
  std::set<uint32_t> oversized_;
  bool refuse_ = false;
  int searches_ = 0;
};

FakeMailbox* g_mailbox = nullptr;  // the running test's (the definition is made once per binary)

class Forward final : public Mailbox {
 public:
  int64_t max_answer_bytes() const override { return 4096; }
  absl::StatusOr<std::vector<uint32_t>> UidsSince(absl::CivilDay, absl::Time) const override {
    return g_mailbox->UidsSince();
  }
  absl::StatusOr<std::string> Headers(uint32_t uid, absl::Time) const override {
    return g_mailbox->Headers(uid);
  }
  absl::StatusOr<std::string> Message(uint32_t uid, absl::Time) const override {
    return g_mailbox->Message(uid);
  }
};

sdk::PluginDefinition DefineFake() {
  return DefineWith([](const ImapOptions&) { return std::make_unique<Forward>(); });
}
const kaigo_plugin_api* Api() {
  static const kaigo_plugin_api* const api = sdk::ExportPlugin(DefineFake());
  return api;
}

OtpMailboxConfig Settings() {
  OtpMailboxConfig config;
  config.set_mailbox_url("imaps://127.0.0.1:1/INBOX");
  config.set_username_secret("user");
  config.set_password_secret("password");
  config.set_poll_interval_ms(20);
  config.set_max_timeout_seconds(1);
  return config;
}

class OtpMailboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_mailbox = &mailbox_;
    host_.SetSecret("user", "office@example.jp");
    host_.SetSecret("password", "pw");
  }

  void Load(const OtpMailboxConfig& config = Settings()) {
    absl::Status loaded = host_.Load(Api(), config.SerializeAsString());
    ASSERT_TRUE(loaded.ok()) << loaded;
  }

  absl::StatusOr<std::string> Request(absl::Time sent_after, int64_t timeout_seconds = 0,
                                      v1::OtpPurpose purpose = v1::OTP_PURPOSE_PORTAL_LOGIN) {
    v1::RequestOtpRequest req;
    req.set_purpose(purpose);
    req.mutable_sent_after_time()->set_seconds(absl::ToUnixSeconds(sent_after));
    req.mutable_timeout()->set_seconds(timeout_seconds);
    auto r = host_.CallUnary<v1::RequestOtpResponse>(kRequestOtp, req);
    if (!r.ok()) return r.status();
    return r->code();
  }

  FakeMailbox mailbox_;
  FakeHost host_;
  const absl::Time asked_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) - 60);
};

TEST_F(OtpMailboxTest, TheNewestMatchingMailSentAfterTheRequestGivesTheCodeOnce) {
  mailbox_.Add(1, kLoginSubject, asked_ - absl::Minutes(5), "100001");  // before the request
  mailbox_.Add(2, "お知らせ", asked_ + absl::Seconds(5), "200002");     // another subject
  mailbox_.Add(3, kLoginSubject, asked_ + absl::Seconds(10), "300003");
  mailbox_.Add(4, kLoginSubject, asked_ + absl::Seconds(20), "400004");
  Load();
  EXPECT_EQ(Request(asked_).value_or("?"), "400004");
  EXPECT_EQ(Request(asked_).value_or("?"), "300003") << "a mail's code goes to one request";
  EXPECT_EQ(Request(asked_).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(host_.Store().count("used/4"), 1u);
  for (const auto& log : host_.Logs()) {
    EXPECT_EQ(log.find("400004"), std::string::npos) << "codes are never logged: " << log;
  }
}

TEST_F(OtpMailboxTest, SubjectsMatchWhateverTheirParenthesesAndSpaces) {
  mailbox_.Add(1, "ワンタイムパスワード発行通知（介護保険資格確認等 WEBサービス）",
               asked_ + absl::Seconds(1), "515151");
  Load();
  EXPECT_EQ(Request(asked_, 0, v1::OTP_PURPOSE_ECLAIM_REGISTRATION).value_or("?"), "515151");
}

TEST_F(OtpMailboxTest, ARequestWaitsAtMostTheLongestTheSettingsAllow) {
  Load();  // max_timeout_seconds 1
  absl::Time start = absl::Now();
  absl::Status s = Request(asked_, 600).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("within 1 s"), std::string::npos) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_GT(mailbox_.searches(), 1) << "polled every poll_interval_ms";
}

TEST_F(OtpMailboxTest, WithoutATimeoutTheDefaultHolds) {
  OtpMailboxConfig config = Settings();
  config.set_max_timeout_seconds(0);
  config.set_default_timeout_seconds(1);
  Load(config);
  absl::Status s = Request(asked_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("within 1 s"), std::string::npos) << s;
}

TEST_F(OtpMailboxTest, AMatchingMailTooLargeToReadIsNamedWhenNoCodeComes) {
  mailbox_.Add(1, kLoginSubject, asked_ + absl::Seconds(1), "777777");
  mailbox_.Oversize(1);
  Load();
  absl::Status s = Request(asked_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("1 mail(s) with that subject were larger than 4096 bytes"),
            std::string::npos)
      << s;
}

TEST_F(OtpMailboxTest, ThreeLoginRefusalsEndTheWait) {
  mailbox_.RefuseLogins();
  OtpMailboxConfig config = Settings();
  config.set_max_timeout_seconds(60);
  Load(config);
  EXPECT_EQ(Request(asked_).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(mailbox_.searches(), 3);
}

TEST_F(OtpMailboxTest, TheCallerCancellingEndsTheWaitAndItsPendingEntry) {
  OtpMailboxConfig config = Settings();
  config.set_max_timeout_seconds(60);
  Load(config);
  v1::RequestOtpRequest req;
  req.set_purpose(v1::OTP_PURPOSE_PORTAL_LOGIN);
  req.set_recipient_hint("office@example.jp");
  auto pending = host_.Start(kRequestOtp, req.SerializeAsString());
  absl::StatusOr<v1::ListPendingResponse> listed;
  for (int i = 0; i < 200; ++i) {
    listed = host_.CallUnary<v1::ListPendingResponse>("/kaigo.v1.OtpService/ListPending",
                                                      v1::ListPendingRequest());
    if (listed.ok() && listed->pending_size() == 1) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->pending_size(), 1);
  EXPECT_EQ(listed->pending(0).recipient_hint(), "office@example.jp");
  pending->Cancel();
  ASSERT_TRUE(pending->WaitFinished(absl::Seconds(5)));
  EXPECT_EQ(pending->Result().status.code(), absl::StatusCode::kCancelled);
  listed = host_.CallUnary<v1::ListPendingResponse>("/kaigo.v1.OtpService/ListPending",
                                                    v1::ListPendingRequest());
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->pending_size(), 0);
}

TEST_F(OtpMailboxTest, RequestsAndCodesItCannotTakeAreRefused) {
  Load();
  EXPECT_EQ(Request(asked_, 0, v1::OTP_PURPOSE_UNSPECIFIED).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Request(asked_, -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(host_.Call("/kaigo.v1.OtpService/ProvideOtp", "").status.code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(mailbox_.searches(), 0);
}

TEST_F(OtpMailboxTest, SettingsAreCheckedWhenTheInstanceIsMade) {
  OtpMailboxConfig config = Settings();
  config.set_mailbox_url("imap://127.0.0.1:1/INBOX");
  absl::Status s = host_.Load(Api(), config.SerializeAsString());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("mailbox_url:", 0), 0u) << s;

  config = Settings();
  config.clear_password_secret();
  FakeHost no_password;
  no_password.SetSecret("user", "u");
  s = no_password.Load(Api(), config.SerializeAsString());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("password_secret:", 0), 0u) << s;

  config = Settings();
  config.set_ca_secret("ca");  // the office binds none of that name
  FakeHost no_ca;
  no_ca.SetSecret("user", "u");
  no_ca.SetSecret("password", "p");
  s = no_ca.Load(Api(), config.SerializeAsString());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message().rfind("ca_secret:", 0), 0u) << s;
}

}  // namespace
}  // namespace kaigo::plugins::otp_mailbox

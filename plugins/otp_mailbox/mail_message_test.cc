#include "mail_message.h"

#include <gtest/gtest.h>

#include "sandbox/mailer.h"

namespace kaigo::plugins::otp_mailbox {
namespace {

constexpr char kSubject[] = "【介護情報基盤ポータル】ワンタイムパスワード発行通知";
constexpr char kText[] =
    "介護情報基盤ポータルへのログインのワンタイムパスワードを発行しました。\n\n"
    "ワンタイムパスワード：482913\n有効期限：発行から10分\n";

TEST(MailMessageTest, EveryEncodingThePortalUsesReadsBack) {
  sandbox::Mailer mailer("/nonexistent", [] { return int64_t{1795000000}; });
  for (int variant = 0; variant < 4; ++variant) {
    std::string raw = mailer.Compose("user@office.example", "no-reply@mail.kaigo-kiban-portal.jp",
                                     kSubject, kText, variant);
    auto mail = ParseMail(raw);
    ASSERT_TRUE(mail.ok()) << variant << ": " << mail.status();
    EXPECT_EQ(mail->subject, kSubject) << variant;
    EXPECT_EQ(mail->date, 1795000000) << variant;
    EXPECT_NE(mail->text.find("有効期限"), std::string::npos) << variant << ": " << mail->text;
    EXPECT_EQ(*ExtractOtp(mail->text), "482913") << variant;
  }
}

TEST(MailMessageTest, HeadersAndCodes) {
  EXPECT_EQ(DecodeHeader("=?UTF-8?Q?=E3=83=86=E3=82=B9=E3=83=88_1?="), "テスト 1");
  EXPECT_EQ(DecodeHeader("=?UTF-8?B?44OG?= =?UTF-8?B?44K5?= plain"), "テス plain");
  EXPECT_EQ(*ExtractOtp("ワンタイムパスワード：０１２３４５"), "012345");
  EXPECT_EQ(*ExtractOtp("code 7734 only"), "7734");
  EXPECT_EQ(ExtractOtp("2026年11月24日 1234 5678").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ExtractOtp("nothing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*ExtractOtp("受付 2026-11-24\nパスワード: 99881\n"), "99881");
  EXPECT_FALSE(ParseMail("").ok());
  auto folded = ParseMail("Subject: =?UTF-8?B?44OG?=\r\n =?UTF-8?B?44K5?=\r\n\r\nbody");
  ASSERT_TRUE(folded.ok());
  EXPECT_EQ(folded->subject, "テス");
}

}  // namespace
}  // namespace kaigo::plugins::otp_mailbox

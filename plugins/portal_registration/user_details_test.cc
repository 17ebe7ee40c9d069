// Every field rule of a user's details, each with its exact message; and sealing.
#include "user_details.h"

#include <gtest/gtest.h>

#include <functional>

#include "sealing.h"

namespace kaigo::plugins::portal {
namespace {

kaigo::v1::UserDetails Valid() {
  kaigo::v1::UserDetails d;
  d.set_email("kanri@sakura.example");
  d.set_name("佐藤 花子");
  d.set_name_kana("サトウ　ハナコ");
  d.set_department("居宅介護支援部");
  d.set_title("管理者");
  d.set_phone("0312345678");
  return d;
}

TEST(UserDetailsTest, AValidUserPasses) {
  EXPECT_TRUE(CheckUserDetails(Valid(), "details").ok());
  auto no_optional = Valid();
  no_optional.clear_department();
  no_optional.clear_title();
  EXPECT_TRUE(CheckUserDetails(no_optional, "details").ok());
}

TEST(UserDetailsTest, EachRuleNamesItsField) {
  using D = kaigo::v1::UserDetails;
  struct Case {
    std::function<void(D*)> change;
    std::string message;
  } cases[] = {
      {[](D* d) { d->clear_email(); }, "details.email: required (the portal login ID)"},
      {[](D* d) { d->set_email("kanri.sakura.example"); },
       "details.email: not an e-mail address (half-width, name@domain)"},
      {[](D* d) { d->set_email("ｋａｎｒｉ@sakura.example"); },
       "details.email: not an e-mail address (half-width, name@domain)"},
      {[](D* d) { d->clear_name(); }, "details.name: 氏名 is required"},
      {[](D* d) { d->set_name(std::string(51, 'a')); },
       "details.name: at most 50 characters of UTF-8 text"},
      {[](D* d) { d->clear_name_kana(); }, "details.name_kana: 氏名(フリガナ) is required"},
      {[](D* d) { d->set_name_kana("ｻﾄｳ ﾊﾅｺ"); },
       "details.name_kana: half-width ｶﾅ: write it in full-width カタカナ"},
      {[](D* d) { d->set_name_kana("さとう はなこ"); },
       "details.name_kana: ひらがな: write it in カタカナ"},
      {[](D* d) { d->set_name_kana("佐藤"); },
       "details.name_kana: write it in full-width カタカナ (no kanji or half-width letters)"},
      {[](D* d) { d->set_department(std::string(51, 'a')); },
       "details.department: at most 50 characters of UTF-8 text"},
      {[](D* d) { d->set_title("\xFF"); }, "details.title: at most 50 characters of UTF-8 text"},
      {[](D* d) { d->clear_phone(); }, "details.phone: 電話番号 is required"},
      {[](D* d) { d->set_phone("03-1234-5678"); },
       "details.phone: write the number without hyphens"},
      {[](D* d) { d->set_phone("０３１２３４５６７８"); },
       "details.phone: only half-width digits 0-9 (no full-width digits, spaces or +81)"},
      {[](D* d) { d->set_phone("+81312345678"); },
       "details.phone: only half-width digits 0-9 (no full-width digits, spaces or +81)"},
      {[](D* d) { d->set_phone("031234"); },
       "details.phone: a Japanese number starting with 0, got 6 digits"},
  };
  for (const auto& c : cases) {
    D d = Valid();
    c.change(&d);
    absl::Status s = CheckUserDetails(d, "details");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(s.message(), c.message);
  }
}

TEST(SealingTest, SealedValuesOpenOnlyWithTheirKeyAndUnaltered) {
  auto sealer = Sealer::FromSecret(std::string(64, 'a') + "\n");
  ASSERT_TRUE(sealer.ok()) << sealer.status();
  std::string sealed = sealer->Seal("Init123456x");
  EXPECT_EQ(sealed.find("Init123456x"), std::string::npos);
  EXPECT_EQ(*sealer->Open(sealed), "Init123456x");
  sealed[15] ^= 1;
  EXPECT_EQ(sealer->Open(sealed).status().code(), absl::StatusCode::kDataLoss);
  auto other = Sealer::FromSecret(std::string(64, 'b'));
  EXPECT_FALSE(other->Open(sealer->Seal("x")).ok());
  EXPECT_FALSE(Sealer::FromSecret("short").ok());
}

}  // namespace
}  // namespace kaigo::plugins::portal

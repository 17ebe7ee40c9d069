#include "application_check.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>

#include "subsidy_rules.h"

namespace kaigo::plugins::subsidy {
namespace {

namespace v1 = kaigo::v1;

const absl::CivilDay kOpenDay(2026, 11, 24);  // in FY2026

v1::SubsidyRules Rules() {
  auto rules = LoadRules(std::string(std::getenv("KAIGO_SOURCE_DIR")) +
                         "/deploy/subsidy/subsidy-rules.yaml");
  EXPECT_TRUE(rules.ok()) << rules.status();
  return *rules;
}

v1::Attachment Attach(v1::AttachmentKind kind, v1::ReceiptCovers covers = {}, int64_t amount = 0,
                      std::vector<std::string> lines = {}) {
  v1::Attachment a;
  a.set_id("att");
  a.set_kind(kind);
  a.set_file_name("file.pdf");
  a.set_detected_type(v1::FILE_TYPE_PDF);
  a.set_size_bytes(1000);
  if (kind == v1::ATTACHMENT_KIND_RECEIPT) {
    a.mutable_receipt()->set_covers(covers);
    a.mutable_receipt()->mutable_amount()->set_amount(amount);
    for (auto& l : lines) a.mutable_receipt()->add_lines(l);
  }
  return a;
}

// A complete, valid application of a 居宅介護支援 office: 2 readers for ¥20,000, support ¥30,000.
v1::SubsidyApplication Valid() {
  v1::SubsidyApplication app;
  auto* f = app.mutable_form();
  f->set_office_name("さくら居宅介護支援事業所");
  f->set_address("東京都千代田区霞が関1-2-2");
  f->set_phone("0312345678");
  f->add_service_types()->set_value("43");
  f->mutable_readers()->mutable_cost()->set_amount(20000);
  f->mutable_readers()->set_model("ACR39-NTTCom");
  f->mutable_readers()->set_supports_qualification_app(true);
  f->mutable_readers()->set_count(2);
  f->mutable_support_cost()->set_amount(30000);
  auto* b = f->mutable_bank();
  b->set_kind(v1::BANK_KIND_BANK);
  b->set_bank_name("みずほ銀行");
  b->set_bank_code("0001");
  b->set_branch_name("東京営業部");
  b->set_branch_code("001");
  b->set_account_type(v1::ACCOUNT_TYPE_ORDINARY);
  b->set_account_number("1234567");
  b->set_holder_kana("カ）サクラケアサービス");
  *app.add_attachments() = Attach(v1::ATTACHMENT_KIND_PASSBOOK);
  *app.add_attachments() = Attach(v1::ATTACHMENT_KIND_SERVICE_TYPE_DOCUMENT);
  *app.add_attachments() = Attach(v1::ATTACHMENT_KIND_RECEIPT, v1::RECEIPT_COVERS_READERS, 20000,
                                  {"ICカードリーダー ACR39-NTTCom ×2 資格確認用"});
  *app.add_attachments() = Attach(v1::ATTACHMENT_KIND_RECEIPT, v1::RECEIPT_COVERS_SUPPORT, 30000,
                                  {"介護情報基盤 接続設定作業"});
  return app;
}

std::string Findings(const v1::ApplicationReport& report) {
  std::string out;
  for (const auto& f : report.errors())
    out += f.field() + " [" + f.rule() + "] " + f.message() + "\n";
  return out;
}

TEST(ApplicationCheckTest, AValidApplicationPassesWithItsGrant) {
  v1::ApplicationReport report = CheckApplication(Rules(), Valid(), kOpenDay, {});
  EXPECT_TRUE(report.ok()) << Findings(report);
  EXPECT_EQ(report.round(), "FY2026");
  EXPECT_EQ(report.grant().grant().amount(), 50000);
  EXPECT_EQ(report.warnings_size(), 1) << "FY2026's dates are planned";
}

struct Case {
  const char* name;
  std::function<void(v1::SubsidyApplication*)> change;
  std::string field;
  std::string rule;
};

TEST(ApplicationCheckTest, EachRuleNamesItsFieldAndRule) {
  auto bank = [](v1::SubsidyApplication* a) { return a->mutable_form()->mutable_bank(); };
  auto form = [](v1::SubsidyApplication* a) { return a->mutable_form(); };
  const Case cases[] = {
      // The bank account.
      {"no bank kind", [&](auto* a) { bank(a)->clear_kind(); }, "form.bank.kind",
       "bank or ゆうちょ"},
      {"3-digit bank code", [&](auto* a) { bank(a)->set_bank_code("001"); }, "form.bank.bank_code",
       "4 half-width digits"},
      {"full-width bank code", [&](auto* a) { bank(a)->set_bank_code("０００１"); },
       "form.bank.bank_code", "4 half-width digits"},
      {"ゆうちょ with a bank's code", [&](auto* a) { bank(a)->set_kind(v1::BANK_KIND_YUCHO); },
       "form.bank.bank_code", "ゆうちょ銀行 is 9900"},
      {"bank with ゆうちょ's code", [&](auto* a) { bank(a)->set_bank_code("9900"); },
       "form.bank.kind", "9900 is ゆうちょ銀行"},
      {"no bank name", [&](auto* a) { bank(a)->clear_bank_name(); }, "form.bank.bank_name",
       "required"},
      {"no branch name", [&](auto* a) { bank(a)->clear_branch_name(); }, "form.bank.branch_name",
       "required"},
      {"4-digit branch code", [&](auto* a) { bank(a)->set_branch_code("0001"); },
       "form.bank.branch_code", "3 half-width digits"},
      {"no account type", [&](auto* a) { bank(a)->clear_account_type(); }, "form.bank.account_type",
       "普通 or 当座"},
      {"6-digit account", [&](auto* a) { bank(a)->set_account_number("123456"); },
       "form.bank.account_number", "7 half-width digits"},
      {"8-digit account", [&](auto* a) { bank(a)->set_account_number("12345678"); },
       "form.bank.account_number", "7 half-width digits"},
      {"account with a hyphen", [&](auto* a) { bank(a)->set_account_number("123-456"); },
       "form.bank.account_number", "7 half-width digits"},
      {"holder in half-width kana", [&](auto* a) { bank(a)->set_holder_kana("ｻｸﾗｹｱ"); },
       "form.bank.holder_kana", "full-width カタカナ"},
      {"holder in hiragana", [&](auto* a) { bank(a)->set_holder_kana("さくらけあ"); },
       "form.bank.holder_kana", "full-width カタカナ"},
      {"holder in kanji", [&](auto* a) { bank(a)->set_holder_kana("桜介護"); },
       "form.bank.holder_kana", "full-width カタカナ"},
      {"holder in ASCII", [&](auto* a) { bank(a)->set_holder_kana("SAKURA"); },
       "form.bank.holder_kana", "full-width カタカナ"},
      {"no holder", [&](auto* a) { bank(a)->clear_holder_kana(); }, "form.bank.holder_kana",
       "full-width カタカナ"},
      {"holder not UTF-8", [&](auto* a) { bank(a)->set_holder_kana("\xE3\x82"); },
       "form.bank.holder_kana", "full-width カタカナ"},
      // The office.
      {"phone with hyphens", [&](auto* a) { form(a)->set_phone("03-1234-5678"); }, "form.phone",
       "10 or 11 half-width digits, no hyphens"},
      {"phone in full-width digits", [&](auto* a) { form(a)->set_phone("０３１２３４５６７８"); },
       "form.phone", "10 or 11 half-width digits, no hyphens"},
      {"phone too short", [&](auto* a) { form(a)->set_phone("031234"); }, "form.phone",
       "10 or 11 half-width digits, no hyphens"},
      {"no office name", [&](auto* a) { form(a)->clear_office_name(); }, "form.office_name",
       "required"},
      {"no address", [&](auto* a) { form(a)->clear_address(); }, "form.address", "required"},
      {"no service type", [&](auto* a) { form(a)->clear_service_types(); }, "form.service_types",
       "at least one"},
      {"unknown service type", [&](auto* a) { form(a)->add_service_types()->set_value("99"); },
       "form.service_types[1].value", "サービス種類コード in the rules"},
      // The readers.
      {"no model", [&](auto* a) { form(a)->mutable_readers()->clear_model(); },
       "form.readers.model", "required"},
      {"app support not confirmed",
       [&](auto* a) { form(a)->mutable_readers()->set_supports_qualification_app(false); },
       "form.readers.supports_qualification_app", "must be confirmed"},
      {"used reader", [&](auto* a) { form(a)->mutable_readers()->set_used(true); },
       "form.readers.used", "new goods only"},
      {"leased reader", [&](auto* a) { form(a)->mutable_readers()->set_leased(true); },
       "form.readers.leased", "bought goods only"},
      {"a tablet as the reader",
       [&](auto* a) { form(a)->mutable_readers()->set_model("iPad 第10世代"); },
       "form.readers.model", "card readers only"},
      {"A without readers", [&](auto* a) { form(a)->mutable_readers()->set_count(0); },
       "form.readers.count", "1 or more"},
      // Receipts and amounts.
      {"A differs from its receipts",
       [&](auto* a) { form(a)->mutable_readers()->mutable_cost()->set_amount(25000); },
       "form.readers.cost.amount", "A equals the reader receipts"},
      {"B differs from its receipts",
       [&](auto* a) { form(a)->mutable_support_cost()->set_amount(31000); },
       "form.support_cost.amount", "B equals the support receipts"},
      {"a PC on a receipt",
       [&](auto* a) { a->mutable_attachments(3)->mutable_receipt()->add_lines("ノートPC 1台"); },
       "attachments[3].receipt.lines[1]", "eligible goods only"},
      {"a phone on a receipt",
       [&](auto* a) {
         a->mutable_attachments(2)->mutable_receipt()->set_lines(0, "スマートフォン");
       },
       "attachments[2].receipt.lines[0]", "eligible goods only"},
      {"a receipt with no amount",
       [&](auto* a) {
         a->mutable_attachments(3)->mutable_receipt()->mutable_amount()->set_amount(0);
       },
       "attachments[3].receipt.amount.amount", "above zero"},
      {"a receipt with no lines",
       [&](auto* a) { a->mutable_attachments(3)->mutable_receipt()->clear_lines(); },
       "attachments[3].receipt.lines", "at least one"},
      // Attachment counts, sizes and types.
      {"no passbook", [&](auto* a) { a->mutable_attachments()->DeleteSubrange(0, 1); },
       "attachments", "passbook copy (通帳の写し): 1 to 1 files"},
      {"two passbooks",
       [&](auto* a) { *a->add_attachments() = Attach(v1::ATTACHMENT_KIND_PASSBOOK); },
       "attachments", "passbook copy (通帳の写し): 1 to 1 files"},
      {"six service-type documents",
       [&](auto* a) {
         for (int i = 0; i < 5; ++i) {
           *a->add_attachments() = Attach(v1::ATTACHMENT_KIND_SERVICE_TYPE_DOCUMENT);
         }
       },
       "attachments", "service-type document (指定通知書 etc.): 1 to 5 files"},
      {"six receipts",
       [&](auto* a) {
         for (int i = 0; i < 4; ++i) {
           *a->add_attachments() =
               Attach(v1::ATTACHMENT_KIND_RECEIPT, v1::RECEIPT_COVERS_SUPPORT, 1, {"作業"});
         }
         a->mutable_form()->mutable_support_cost()->set_amount(30004);
       },
       "attachments", "receipt (領収書): 1 to 5 files"},
      {"a file over 20 MB", [&](auto* a) { a->mutable_attachments(0)->set_size_bytes(20971521); },
       "attachments[0].size_bytes", "at most 20971520 bytes"},
      {"a file of no accepted type",
       [&](auto* a) { a->mutable_attachments(1)->set_detected_type(v1::FILE_TYPE_UNSPECIFIED); },
       "attachments[1].detected_type", "PDF, JPEG or PNG"},
  };
  for (const auto& c : cases) {
    v1::SubsidyApplication app = Valid();
    c.change(&app);
    v1::ApplicationReport report = CheckApplication(Rules(), app, kOpenDay, {});
    EXPECT_FALSE(report.ok()) << c.name;
    bool found = false;
    for (const auto& f : report.errors()) found |= f.field() == c.field && f.rule() == c.rule;
    EXPECT_TRUE(found) << c.name << ": expected " << c.field << " [" << c.rule << "], got\n"
                       << Findings(report);
  }
}

TEST(ApplicationCheckTest, YuchoAccountsUse9900AndTheirShopNumber) {
  v1::SubsidyApplication app = Valid();
  auto* b = app.mutable_form()->mutable_bank();
  b->set_kind(v1::BANK_KIND_YUCHO);
  b->set_bank_name("ゆうちょ銀行");
  b->set_bank_code("9900");
  b->set_branch_name("〇一八");
  b->set_branch_code("018");
  EXPECT_TRUE(CheckApplication(Rules(), app, kOpenDay, {}).ok());
}

TEST(ApplicationCheckTest, VagueReceiptsWarnButPass) {
  v1::SubsidyApplication app = Valid();
  app.mutable_attachments(3)->mutable_receipt()->set_lines(0, "導入作業一式");
  v1::ApplicationReport report = CheckApplication(Rules(), app, kOpenDay, {});
  EXPECT_TRUE(report.ok()) << Findings(report);
  bool warned = false;
  for (const auto& w : report.warnings()) warned |= w.field() == "attachments[3].receipt.lines[0]";
  EXPECT_TRUE(warned);
}

TEST(ApplicationCheckTest, AClosedRoundIsRefusedWithTheDates) {
  v1::ApplicationReport report =
      CheckApplication(Rules(), Valid(), absl::CivilDay(2026, 4, 20), {});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.errors(0).field(), "application_date");
  EXPECT_EQ(report.errors(0).message(),
            "no subsidy round is open on 2026-04-20; FY2025 closed on 2026-03-13; FY2026 opens on "
            "2026-05-07 (planned)");
}

TEST(ApplicationCheckTest, ASecondApplicationIsRefused) {
  std::vector<PriorApplication> prior = {
      {"SB-1", absl::CivilDay(2026, 6, 1), v1::APPLICATION_STATUS_UNDER_REVIEW}};
  v1::ApplicationReport report = CheckApplication(Rules(), Valid(), kOpenDay, prior);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.errors(0).rule(), "one application per office number");
  EXPECT_EQ(report.errors(0).message(),
            "application SB-1 of 2026-06-01 is under review; an office applies once");
}

TEST(ApplicationCheckTest, AReturnedApplicationMayBeFiledAgainFromTheNextMonth) {
  std::vector<PriorApplication> returned = {
      {"SB-1", absl::CivilDay(2026, 11, 3), v1::APPLICATION_STATUS_RETURNED}};
  v1::ApplicationReport same_month = CheckApplication(Rules(), Valid(), kOpenDay, returned);
  ASSERT_FALSE(same_month.ok());
  EXPECT_EQ(same_month.errors(0).message(),
            "the returned application may be filed again from 2026-12-01");
  EXPECT_TRUE(CheckApplication(Rules(), Valid(), absl::CivilDay(2026, 12, 1), returned).ok());
  // Across a year end, and counted from the first application, not the latest.
  returned.push_back({"SB-2", absl::CivilDay(2027, 1, 5), v1::APPLICATION_STATUS_RETURNED});
  EXPECT_EQ(ResubmitFrom(returned), absl::CivilDay(2026, 12, 1));
  EXPECT_EQ(ResubmitFrom({{"SB-3", absl::CivilDay(2026, 12, 31), {}}}), absl::CivilDay(2027, 1, 1));
}

}  // namespace
}  // namespace kaigo::plugins::subsidy

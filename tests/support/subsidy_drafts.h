// Subsidy applications for cross-component tests: a rules file with one round, a valid form, and
// a complete draft with its four attachments, made through a SubsidyService stub.
#ifndef KAIGO_TESTS_SUPPORT_SUBSIDY_DRAFTS_H_
#define KAIGO_TESTS_SUPPORT_SUBSIDY_DRAFTS_H_

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "kaigo/v1/subsidy.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/sample_files.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {

// The shipped rules (deploy/subsidy/subsidy-rules.yaml) with their rounds replaced by one,
// `name`, open from `start` to `end` inclusive.
inline std::string RulesWithRound(const std::string& name, absl::CivilDay start,
                                  absl::CivilDay end) {
  auto yaml_date = [](absl::CivilDay d) {
    return absl::StrFormat("{year: %d, month: %d, day: %d}", d.year(), d.month(), d.day());
  };
  std::string shipped = ReadFile(SourceDir() + "/deploy/subsidy/subsidy-rules.yaml");
  std::string rounds = "rounds:\n  - name: " + name + "\n    open: {start: " + yaml_date(start) +
                       ", end: " + yaml_date(end) + "}\n\n";
  return std::regex_replace(shipped, std::regex("rounds:[\\s\\S]*?\ncategories:"),
                            rounds + "categories:");
}

// Writes subsidy-rules.yaml into `dir` (an engine's configuration directory, where
// SubsidyBinding() looks): the shipped rules with one round, TEST, open from 60 days before the
// test clock's today to 60 days after.
inline void WriteOpenRoundRules(const TempDir& dir) {
  dir.Write("subsidy-rules.yaml", RulesWithRound("TEST", TestToday() - 60, TestToday() + 60));
}

inline kaigo::v1::ApplicationForm SubsidyForm(const std::string& service_type) {
  kaigo::v1::ApplicationForm f;
  f.set_office_name("テスト事業所");
  f.set_address("東京都千代田区霞が関1-2-2");
  f.set_phone("0312345678");
  f.add_service_types()->set_value(service_type);
  f.mutable_readers()->mutable_cost()->set_amount(20000);
  f.mutable_readers()->set_model("ACR39-NTTCom");
  f.mutable_readers()->set_supports_qualification_app(true);
  f.mutable_readers()->set_count(2);
  f.mutable_support_cost()->set_amount(30000);
  auto* b = f.mutable_bank();
  b->set_kind(kaigo::v1::BANK_KIND_YUCHO);
  b->set_bank_name("ゆうちょ銀行");
  b->set_bank_code("9900");
  b->set_branch_name("〇一八");
  b->set_branch_code("018");
  b->set_account_type(kaigo::v1::ACCOUNT_TYPE_ORDINARY);
  b->set_account_number("1234567");
  b->set_holder_kana("テストジギョウショ");
  return f;
}

inline grpc::Status AttachToDraft(kaigo::v1::SubsidyService::Stub& stub, const std::string& office,
                                  const std::string& app, kaigo::v1::AttachmentKind kind,
                                  const std::string& name, const std::string& content,
                                  kaigo::v1::SubsidyApplication* out,
                                  kaigo::v1::ReceiptCovers covers = {}, int64_t amount = 0,
                                  const std::string& line = "") {
  kaigo::v1::AddAttachmentRequest req;
  req.set_application_id(app);
  req.set_kind(kind);
  req.set_file_name(name);
  req.set_content(content);
  if (kind == kaigo::v1::ATTACHMENT_KIND_RECEIPT) {
    req.mutable_receipt()->set_covers(covers);
    req.mutable_receipt()->mutable_amount()->set_amount(amount);
    req.mutable_receipt()->add_lines(line);
  }
  return stub.AddAttachment(Context(office, absl::Seconds(30)).get(), req, Into(out));
}

// A complete draft: passbook (PNG), 指定通知書 (PDF), reader receipt (PDF), support receipt
// (JPEG).
inline kaigo::v1::SubsidyApplication CompleteDraft(kaigo::v1::SubsidyService::Stub& stub,
                                                   const std::string& office,
                                                   const std::string& service_type) {
  kaigo::v1::CreateApplicationRequest create;
  *create.mutable_form() = SubsidyForm(service_type);
  kaigo::v1::SubsidyApplication app;
  grpc::Status s = stub.CreateApplication(Context(office).get(), create, Into(&app));
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(AttachToDraft(stub, office, app.id(), kaigo::v1::ATTACHMENT_KIND_PASSBOOK, "通帳.png",
                            SamplePng(40, 30), &app)
                  .ok());
  EXPECT_TRUE(AttachToDraft(stub, office, app.id(),
                            kaigo::v1::ATTACHMENT_KIND_SERVICE_TYPE_DOCUMENT, "指定通知書.pdf",
                            SamplePdf("designation"), &app)
                  .ok());
  EXPECT_TRUE(AttachToDraft(stub, office, app.id(), kaigo::v1::ATTACHMENT_KIND_RECEIPT,
                            "receipt-reader.pdf", SamplePdf("receipt"), &app,
                            kaigo::v1::RECEIPT_COVERS_READERS, 20000,
                            "ICカードリーダー ACR39-NTTCom ×2")
                  .ok());
  EXPECT_TRUE(AttachToDraft(stub, office, app.id(), kaigo::v1::ATTACHMENT_KIND_RECEIPT,
                            "receipt-support.jpg", SampleJpeg(5000), &app,
                            kaigo::v1::RECEIPT_COVERS_SUPPORT, 30000, "介護情報基盤 接続設定作業")
                  .ok());
  return app;
}

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_SUBSIDY_DRAFTS_H_

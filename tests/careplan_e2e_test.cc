// ケアプランデータ連携 end to end between two offices through engine, plugin and the sandbox over
// TLS: さくら居宅介護支援事業所 (43) sends its plan (第1表・第2表・第3表) and the month's
// 第6表・第7表 with 利用者補足 to ひまわり訪問介護 (11); ひまわり lists them in ファイル連番 order,
// fetches them (hashes checked, files typed) and acknowledges; 実績 comes back; both sides export
// their evidence. Also: an invalid unit refused before it leaves with the validator's exact words
// (and, for programs, the file's field and each finding in the error's details),
// a retried send that is the same send, one unit to two destinations as separate sends, and the
// 居宅サービス計画作成依頼 届出 with the identity check by numbers.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "careplan/care_plan_writer.h"
#include "careplan/file_name.h"
#include "careplan/testing/sample_files.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/v1/careplan_exchange.grpc.pb.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;
namespace cp = kaigo::careplan;
using K = cp::v1::FileKind;

constexpr char kSakura[] = "1371000017";    // 居宅介護支援 (43)
constexpr char kHimawari[] = "1371000025";  // 訪問介護 (11)

cp::testing::SampleOptions Sample() {
  cp::testing::SampleOptions o;
  o.recipients = 2;
  o.rows_per_recipient = 3;
  o.month = TestMonth();  // 対象年月: this month, as the units below are sent
  return o;
}

v1::Destination To(const std::string& office, const std::string& type) {
  v1::Destination d;
  d.set_office_number(office);
  d.set_service_type(type);
  return d;
}

class CarePlanE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = PlatformStack::Start(
        {"careplan_exchange"}, [](const SandboxProcess& sandbox, const TempDir& dir) {
          auto bind = [](const char* type) {
            return std::vector<PlatformBinding>{{"kaigo.v1.CarePlanExchangeService",
                                                 "careplan_exchange",
                                                 {absl::StrCat("service_type: \"", type, "\"")}}};
          };
          return PlatformOfficeYaml(sandbox, dir, kSakura, "sakura-cm", "Sakura#2026", bind("43")) +
                 PlatformOfficeYaml(sandbox, dir, kHimawari, "himawari-staff", "Himawari#2026",
                                    bind("11"));
        });
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    stub_ =
        v1::CarePlanExchangeService::NewStub(InsecureChannel(stack_->engine->target())).release();
  }
  static void TearDownTestSuite() {
    delete stub_;
    delete stack_;
  }

  static v1::SendCarePlanResponse Send(const std::string& from, v1::SendCarePlanRequest req) {
    v1::SendCarePlanResponse response;
    grpc::Status status = stub_->SendCarePlan(Context(from, absl::Seconds(30)).get(), req, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static std::vector<v1::ReceivedUnit> Received(const std::string& office) {
    v1::ListReceivedResponse response;
    grpc::Status status =
        stub_->ListReceived(Context(office).get(), v1::ListReceivedRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.units().begin(), response.units().end()};
  }

  static v1::FetchReceivedResponse Fetch(const std::string& office, const std::string& id) {
    v1::FetchReceivedRequest req;
    req.set_send_id(id);
    v1::FetchReceivedResponse response;
    grpc::Status status = stub_->FetchReceived(Context(office, absl::Seconds(30)).get(), req, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static std::vector<v1::EvidenceRecord> Evidence(const std::string& office,
                                                  const std::string& month) {
    v1::ExportEvidenceRequest req;
    req.mutable_insurer()->set_value("131011");
    req.mutable_insured()->set_value("0000100004");
    req.set_month(month);
    v1::ExportEvidenceResponse response;
    grpc::Status status = stub_->ExportEvidence(Context(office).get(), req, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.records().begin(), response.records().end()};
  }

  static PlatformStack* stack_;
  static v1::CarePlanExchangeService::Stub* stub_;
};

PlatformStack* CarePlanE2eTest::stack_ = nullptr;
v1::CarePlanExchangeService::Stub* CarePlanE2eTest::stub_ = nullptr;

TEST_F(CarePlanE2eTest, PlanAndUseTablesGoOutAndRecordsComeBackWithEvidenceOnBothSides) {
  // The plan, typed: the engine names the files for the destination.
  v1::SendCarePlanRequest plan;
  for (K kind : {K::FILE_KIND_UP1KYO, K::FILE_KIND_UP2KYO, K::FILE_KIND_UP3KYO}) {
    *plan.add_typed_files() = cp::testing::SampleFile(kind, Sample());
  }
  *plan.add_destinations() = To(kHimawari, "11");
  plan.set_request_id("plan-202611-1");
  v1::SendCarePlanResponse plan_sent = Send(kSakura, plan);
  ASSERT_EQ(plan_sent.sends_size(), 1);
  ASSERT_TRUE(plan_sent.sends(0).error_code().empty()) << plan_sent.sends(0).error_message();
  ASSERT_EQ(plan_sent.sends(0).files_size(), 3);
  EXPECT_EQ(plan_sent.sends(0).files(0).name().substr(0, 31), "UP1KYO_1371000017_43_1371000025");

  // The month's use tables as the care software exported them: CSV in the standard's form.
  v1::SendCarePlanRequest tables;
  for (K kind : {K::FILE_KIND_UPPLAN, K::FILE_KIND_UPSIKYU, K::FILE_KIND_UPHOSOKU}) {
    v1::CsvFile* f = tables.add_files();
    f->set_name(cp::FormatFileName(cp::testing::SampleName(kind, Sample())));
    f->set_content(cp::testing::SampleBytes(kind, Sample()));
  }
  *tables.add_destinations() = To(kHimawari, "11");
  tables.set_request_id("tables-202611-1");
  v1::SendCarePlanResponse tables_sent = Send(kSakura, tables);
  ASSERT_TRUE(tables_sent.sends(0).error_code().empty()) << tables_sent.sends(0).error_message();
  EXPECT_GT(tables_sent.sends(0).unit(), plan_sent.sends(0).unit());  // its own, later 連番
  // A retry (the answer was lost) is the same send.
  v1::SendCarePlanResponse again = Send(kSakura, tables);
  EXPECT_EQ(again.sends(0).send_id(), tables_sent.sends(0).send_id());

  // ひまわり: both units, in 連番 order.
  std::vector<v1::ReceivedUnit> received = Received(kHimawari);
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].send_id(), plan_sent.sends(0).send_id());
  EXPECT_EQ(received[1].send_id(), tables_sent.sends(0).send_id());
  EXPECT_EQ(received[1].from_office(), kSakura);
  EXPECT_EQ(received[1].fetch_time().seconds(), 0);

  for (const v1::ReceivedUnit& unit : received) {
    v1::FetchReceivedResponse fetched = Fetch(kHimawari, unit.send_id());
    ASSERT_EQ(fetched.files_size(), unit.files_size());
    EXPECT_EQ(fetched.typed_files_size(), unit.files_size());
    for (const auto& f : fetched.findings()) ADD_FAILURE() << f.DebugString();
    EXPECT_GT(fetched.unit().fetch_time().seconds(), 0);
  }
  // The 第6表 arrives as the care manager's software wrote it, byte for byte.
  v1::FetchReceivedResponse use_tables = Fetch(kHimawari, received[1].send_id());
  EXPECT_EQ(use_tables.files(0).content(), tables.files(0).content());
  EXPECT_EQ(use_tables.typed_files(0).upplan_size(), 6);

  v1::AcknowledgeReceivedRequest ack;
  ack.set_send_id(received[1].send_id());
  v1::AcknowledgeReceivedResponse acked;
  ASSERT_TRUE(stub_->AcknowledgeReceived(Context(kHimawari).get(), ack, &acked).ok());
  EXPECT_GT(acked.acknowledge_time().seconds(), 0);

  // 実績 back to the care manager.
  v1::SendCarePlanRequest records;
  *records.add_typed_files() = cp::testing::SampleFile(K::FILE_KIND_UPJSK, Sample());
  *records.add_destinations() = To(kSakura, "43");
  records.set_request_id("jisseki-202611");
  v1::SendCarePlanResponse records_sent = Send(kHimawari, records);
  ASSERT_TRUE(records_sent.sends(0).error_code().empty()) << records_sent.sends(0).error_message();
  std::vector<v1::ReceivedUnit> at_sakura = Received(kSakura);
  ASSERT_EQ(at_sakura.size(), 1u);
  v1::FetchReceivedResponse jisseki = Fetch(kSakura, at_sakura[0].send_id());
  ASSERT_EQ(jisseki.typed_files_size(), 1);
  EXPECT_EQ(jisseki.typed_files(0).name().kind(), K::FILE_KIND_UPJSK);

  // さくら sees its 第6表 unit acknowledged.
  v1::ListSentResponse sent;
  ASSERT_TRUE(stub_->ListSent(Context(kSakura).get(), v1::ListSentRequest(), &sent).ok());
  ASSERT_EQ(sent.units_size(), 2);
  EXPECT_EQ(sent.units(0).acknowledge_time().seconds(), 0);
  EXPECT_EQ(sent.units(1).acknowledge_time().seconds(), acked.acknowledge_time().seconds());
  EXPECT_TRUE(sent.next_page_token().empty());

  // Page by page, the same units in the same order; a token is refused with another request.
  v1::ListSentRequest paged;
  paged.set_page_size(1);
  std::vector<std::string> ids;
  for (int page = 0; page < 3; ++page) {
    v1::ListSentResponse one;
    ASSERT_TRUE(stub_->ListSent(Context(kSakura).get(), paged, &one).ok());
    ASSERT_EQ(one.units_size(), 1);
    ids.push_back(one.units(0).send_id());
    if (one.next_page_token().empty()) break;
    paged.set_page_token(one.next_page_token());
  }
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], sent.units(0).send_id());
  EXPECT_EQ(ids[1], sent.units(1).send_id());
  v1::ListSentRequest other = paged;
  other.set_month("202001");
  v1::ListSentResponse refused;
  grpc::Status mismatched = stub_->ListSent(Context(kSakura).get(), other, &refused);
  EXPECT_EQ(mismatched.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(mismatched.error_message().find("page_token"), std::string::npos)
      << mismatched.error_message();

  // Evidence for the recipient 131011/0000100004 in this month, on both sides: the month the
  // units went and came (by the test clock) and the files' 対象年月.
  std::vector<v1::EvidenceRecord> sakura = Evidence(kSakura, TestMonth());
  ASSERT_EQ(sakura.size(), 3u);  // the plan and the tables sent, the 実績 received
  EXPECT_EQ(sakura[0].direction(), v1::EvidenceRecord::DIRECTION_SENT);
  EXPECT_EQ(sakura[1].files(0).sha256(), tables_sent.sends(0).files(0).sha256());
  EXPECT_EQ(sakura[1].acknowledge_time().seconds(), acked.acknowledge_time().seconds());
  EXPECT_EQ(sakura[2].direction(), v1::EvidenceRecord::DIRECTION_RECEIVED);
  EXPECT_EQ(sakura[2].counterpart_office(), kHimawari);
  std::vector<v1::EvidenceRecord> himawari = Evidence(kHimawari, TestMonth());
  ASSERT_EQ(himawari.size(), 3u);  // two units received, the 実績 sent
  EXPECT_EQ(himawari[0].direction(), v1::EvidenceRecord::DIRECTION_RECEIVED);
  EXPECT_EQ(himawari[1].acknowledge_time().seconds(), acked.acknowledge_time().seconds());
  EXPECT_EQ(himawari[2].direction(), v1::EvidenceRecord::DIRECTION_SENT);
  absl::CivilMonth a_year_ago = absl::CivilMonth(TestToday()) - 11;
  EXPECT_TRUE(Evidence(kSakura, absl::StrFormat("%04d%02d", a_year_ago.year(), a_year_ago.month()))
                  .empty());
  for (const auto& e : sakura) {
    for (const auto& ref : e.recipient_refs()) EXPECT_EQ(ref.find("0000100004"), std::string::npos);
  }
}

TEST_F(CarePlanE2eTest, AnInvalidUnitNeverLeavesAndNamesTheItemAndTheRule) {
  cp::v1::CarePlanFile broken = cp::testing::SampleFile(K::FILE_KIND_UPPLAN, Sample());
  broken.mutable_upplan(0)->set_service_code("11121");
  v1::SendCarePlanRequest req;
  *req.add_typed_files() = broken;
  *req.add_typed_files() = cp::testing::SampleFile(K::FILE_KIND_UPSIKYU, Sample());
  *req.add_destinations() = To(kHimawari, "11");
  v1::SendCarePlanResponse response;
  grpc::Status status = stub_->SendCarePlan(Context(kSakura).get(), req, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find(
                ":1: item 15 サービスコード: error [length]: must be 6 characters (サービスコード: "
                "種類 2 + 項目 4), got 5"),
            std::string::npos)
      << status.error_message();
  absl::Status why = WithDetails(status);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(sdk::FindDetail(why, &bad));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "typed_files[0]");
  EXPECT_EQ(bad.field_violations(0).reason(), "CARE_PLAN_FINDINGS");
  google::rpc::PreconditionFailure findings;
  ASSERT_TRUE(sdk::FindDetail(why, &findings));
  ASSERT_EQ(findings.violations_size(), 1);
  EXPECT_EQ(findings.violations(0).type(), "CARE_PLAN_RULE: length");
  EXPECT_NE(findings.violations(0).subject().find(":1 item 15 サービスコード"), std::string::npos)
      << findings.violations(0).subject();
}

TEST_F(CarePlanE2eTest, OneUnitToTwoDestinationsIsTwoSends) {
  v1::SendCarePlanRequest req;
  for (K kind : {K::FILE_KIND_UPPLAN, K::FILE_KIND_UPSIKYU}) {
    *req.add_typed_files() = cp::testing::SampleFile(kind, Sample());
  }
  // 訪問介護 and 通所介護 under one 事業所番号 (同一所在地の複数指定): a file per service type.
  *req.add_destinations() = To(kHimawari, "11");
  *req.add_destinations() = To(kHimawari, "15");
  req.set_request_id("two-destinations");
  v1::SendCarePlanResponse sent = Send(kSakura, req);
  ASSERT_EQ(sent.sends_size(), 2);
  EXPECT_NE(sent.sends(0).send_id(), sent.sends(1).send_id());
  EXPECT_NE(sent.sends(1).files(0).name().find("_1371000025_15_"), std::string::npos);
}

// Fail closed: a unit whose sending cannot be recorded in the audit log does not leave (a trigger
// stands for a full disk).
TEST_F(CarePlanE2eTest, NothingLeavesThatCannotBeRecorded) {
  std::string db = stack_->dir->path() + "/state.db";
  v1::ListSentResponse before;
  ASSERT_TRUE(stub_->ListSent(Context(kSakura).get(), v1::ListSentRequest(), &before).ok());
  ASSERT_EQ(RefuseAuditRecords(db, true).exit_code, 0);
  v1::SendCarePlanRequest req;
  *req.add_typed_files() = cp::testing::SampleFile(K::FILE_KIND_UPPLAN, Sample());
  *req.add_destinations() = To(kHimawari, "11");
  req.set_request_id("unrecorded");
  v1::SendCarePlanResponse response;
  grpc::Status status = stub_->SendCarePlan(Context(kSakura, absl::Seconds(30)).get(), req, &response);
  ASSERT_EQ(RefuseAuditRecords(db, false).exit_code, 0);
  std::string refusal = status.ok() && response.sends_size() == 1
                            ? response.sends(0).error_message()
                            : status.error_message();
  EXPECT_NE(refusal.find("could not be recorded in the audit log"), std::string::npos)
      << status.error_message() << " " << response.DebugString();
  v1::ListSentResponse after;
  ASSERT_TRUE(stub_->ListSent(Context(kSakura).get(), v1::ListSentRequest(), &after).ok());
  EXPECT_EQ(after.units_size(), before.units_size()) << "the platform never got the unit";
}

TEST_F(CarePlanE2eTest, RequestNotificationRestsOnTheIdentityCheck) {
  v1::SubmitCarePlanRequestNotificationRequest n;
  n.mutable_insurer()->set_value("131011");
  n.mutable_insured()->set_value("0000100004");
  n.set_kind(v1::SubmitCarePlanRequestNotificationRequest::KIND_NEW);
  n.set_care_manager_name("佐藤　一郎");
  n.set_request_id("todoke-1");
  auto* numbers = n.mutable_numbers();
  numbers->add_documents_checked("介護保険被保険者証");
  numbers->mutable_birth_date()->set_year(1900);  // wrong
  numbers->mutable_birth_date()->set_month(1);
  numbers->mutable_birth_date()->set_day(1);
  v1::SubmitCarePlanRequestNotificationResponse receipt;
  grpc::Status status =
      stub_->SubmitCarePlanRequestNotification(Context(kSakura).get(), n, &receipt);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_NE(status.error_message().find("IDENTITY_MISMATCH"), std::string::npos);
  google::rpc::ErrorInfo info;  // the platform's code, for a program
  ASSERT_TRUE(sdk::FindDetail(WithDetails(status), &info));
  EXPECT_EQ(info.reason(), "IDENTITY_MISMATCH");
  EXPECT_EQ(info.domain(), "platform.kaigo-kiban");
}

}  // namespace
}  // namespace kaigo::testing

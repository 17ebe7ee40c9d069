// The date rules at named boundary days, through the engine, the plugins and the sandbox: both
// processes run on a moved clock (`serve --clock-offset`, POST /sandbox/clock), so each case sees
// the day it names whatever the machine's date. Each case is its own ctest entry labelled `dates`
// (tests/CMakeLists.txt). The rules, where they live and the days that show them:
//
//   a certification's last valid day and the next (qualification: valid_to vs today)
//     CertificationLastValidDayAndTheNext
//   3/31 → 4/1: 福祉用具購入 counts per fiscal year, April–March (qualification)
//     EquipmentPurchaseResetsOnAprilFirst
//   7/31 → 8/1: a new 負担割合 / 負担限度額 period, August–July (sandbox answers the one in force)
//     CopayPeriodTurnsOnAugustFirst
//   a municipality's go-live day and the day before (sandbox: MUNICIPALITY_NOT_LIVE)
//     MunicipalityGoesLiveOnItsDay
//   a subsidy round's first and last day and the day after (subsidy_filing: the rules' rounds)
//     SubsidyRoundOpensOnItsFirstDay, SubsidyRoundIsOpenOnItsLastDay,
//     SubsidyRoundIsClosedTheDayAfter
//   a month's last and first day: a returned application is filed again from the 1st of the month
//   after the first filing (subsidy_filing and the sandbox's portal)
//     ReturnedApplicationWaitsFromTheMonthsLastDayToTheFirst
//   12/31 → 1/1: care-plan evidence goes under the month (Japan time) a unit was sent
//     EvidenceOfSendsAroundNewYearsMidnight
// and the clock itself: an engine that listens off loopback refuses a test clock
//     ATestClockIsRefusedOffLoopback
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "careplan/file_name.h"
#include "careplan/testing/sample_files.h"
#include "kaigo/v1/careplan_exchange.grpc.pb.h"
#include "kaigo/v1/qualification.grpc.pb.h"
#include "kaigo/v1/subsidy.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/subsidy_drafts.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;
namespace cp = kaigo::careplan;

constexpr char kSakura[] = "1371000017";    // 居宅介護支援 (43); subsidy filings approved
constexpr char kHimawari[] = "1371000025";  // 訪問介護 (11); subsidy filings returned

// The subsidy round every case's rules file holds (a fiscal year's, as the shipped ones).
const absl::CivilDay kRoundOpens(2027, 5, 7);
const absl::CivilDay kRoundCloses(2028, 3, 10);

absl::CivilDay DayOf(const v1::Date& d) { return absl::CivilDay(d.year(), d.month(), d.day()); }

// A sandbox and an engine serving さくら and ひまわり with qualification, the subsidy and the
// care-plan exchange, both at `japan_time` when started. The sandbox seeds its data on that day.
class DateRulesTest : public ::testing::Test {
 protected:
  void StartAt(absl::CivilSecond japan_time) {
    auto stack = PlatformStack::Start(
        {"qualification", "subsidy_filing", "careplan_exchange"},
        [](const SandboxProcess& sandbox, const TempDir& dir) {
          dir.Write("subsidy-rules.yaml", RulesWithRound("FY2027", kRoundOpens, kRoundCloses));
          auto bindings = [](const char* service_type) {
            return std::vector<PlatformBinding>{
                {"kaigo.v1.QualificationService", "qualification", {"cache_ttl_seconds: 0"}},
                SubsidyBinding(),
                CarePlanBinding(service_type)};
          };
          return PlatformOfficeYaml(sandbox, dir, kSakura, "sakura-cm", "Sakura#2026",
                                    bindings("43")) +
                 PlatformOfficeYaml(sandbox, dir, kHimawari, "himawari-staff", "Himawari#2026",
                                    bindings("11"));
        },
        "info", "", OffsetToJapanTime(japan_time));
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    Connect();
  }

  // Both processes to `japan_time`; the engine restarts with its state.
  void MoveTo(absl::CivilSecond japan_time) {
    absl::Status moved = stack_->MoveClock(OffsetToJapanTime(japan_time));
    ASSERT_TRUE(moved.ok()) << moved;
    Connect();
  }

  void Connect() {
    auto channel = InsecureChannel(stack_->engine->target());
    qualification_ = v1::QualificationService::NewStub(channel);
    subsidy_ = v1::SubsidyService::NewStub(channel);
    careplan_ = v1::CarePlanExchangeService::NewStub(channel);
  }

  // Recipient #i of the sandbox's seed (sandbox/README.md), looked up as of today.
  grpc::Status Lookup(const std::string& insurer, int i, v1::QualificationResult* result) {
    v1::LookupByInsuredNumberRequest request;
    request.mutable_insurer()->set_value(insurer);
    request.mutable_insured()->set_value(absl::StrFormat("00001%05d", i));
    return qualification_->LookupByInsuredNumber(Context(kSakura).get(), request, Into(result));
  }
  v1::QualificationResult Recipient(int i) {
    v1::QualificationResult result;
    grpc::Status status = Lookup("131011", i, &result);
    EXPECT_TRUE(status.ok()) << "#" << i << ": " << status.error_message();
    return result;
  }

  // ValidateApplication of a complete draft on today's date (none given).
  v1::ApplicationReport ValidateToday() {
    v1::SubsidyApplication draft = CompleteDraft(*subsidy_, kSakura, "43");
    v1::ValidateApplicationRequest validate;
    validate.set_id(draft.id());
    v1::ApplicationReport report;
    grpc::Status status = subsidy_->ValidateApplication(Context(kSakura).get(), validate, Into(&report));
    EXPECT_TRUE(status.ok()) << status.error_message();
    return report;
  }

  grpc::Status Submit(const std::string& office, const std::string& id,
                      v1::SubsidyApplication* filed) {
    v1::SubmitApplicationRequest submit;
    submit.set_id(id);
    return subsidy_->SubmitApplication(Context(office, absl::Seconds(30)).get(), submit, Into(filed));
  }

  // Sends a 第1表 (no 対象年月 in its name) for recipient #4 from さくら to ひまわり; the months
  // its evidence is filed under.
  std::vector<std::string> SendPlanAndListEvidenceMonths(const std::string& reference) {
    cp::testing::SampleOptions options;
    options.recipients = 1;
    v1::SendCarePlanRequest send;
    *send.add_typed_files() = cp::testing::SampleFile(cp::v1::FILE_KIND_UP1KYO, options);
    send.add_destinations()->set_office_number(kHimawari);
    send.mutable_destinations(0)->set_service_type("11");
    send.set_request_id(reference);
    v1::SendCarePlanResponse sent;
    grpc::Status status = careplan_->SendCarePlan(Context(kSakura, absl::Seconds(30)).get(), send, &sent);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (sent.sends_size() != 1) return {"no send"};
    v1::ExportEvidenceRequest req;
    req.mutable_insurer()->set_value("131011");
    req.mutable_insured()->set_value("0000100004");
    v1::ExportEvidenceResponse evidence;
    status = careplan_->ExportEvidence(Context(kSakura).get(), req, &evidence);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const auto& record : evidence.records()) {
      if (record.send_id() == sent.sends(0).send_id()) {
        return {record.months().begin(), record.months().end()};
      }
    }
    return {"no evidence"};
  }

  std::unique_ptr<PlatformStack> stack_;
  std::unique_ptr<v1::QualificationService::Stub> qualification_;
  std::unique_ptr<v1::SubsidyService::Stub> subsidy_;
  std::unique_ptr<v1::CarePlanExchangeService::Stub> careplan_;
};

TEST_F(DateRulesTest, CertificationLastValidDayAndTheNext) {
  StartAt(absl::CivilSecond(2027, 6, 15, 10, 0, 0));
  v1::QualificationResult seeded = Recipient(4);
  ASSERT_EQ(seeded.verdict(), v1::QUALIFICATION_VERDICT_VALID);
  absl::CivilDay last = DayOf(seeded.care_level_period().end());
  MoveTo(absl::CivilSecond(last) + 23 * 3600 + 59 * 60);  // 23:59 on the last valid day
  EXPECT_EQ(Recipient(4).verdict(), v1::QUALIFICATION_VERDICT_VALID) << IsoDate(last);
  MoveTo(absl::CivilSecond(last + 1));  // 00:00 the next day
  EXPECT_EQ(Recipient(4).verdict(), v1::QUALIFICATION_VERDICT_INVALID) << IsoDate(last + 1);
}

TEST_F(DateRulesTest, EquipmentPurchaseResetsOnAprilFirst) {
  StartAt(absl::CivilSecond(2028, 3, 31, 23, 59, 0));  // the last minute of FY2027
  v1::QualificationResult march = Recipient(1);        // ¥20,000 used this fiscal year
  EXPECT_EQ(march.equipment_purchase_used().amount(), 20000);
  EXPECT_EQ(march.equipment_purchase_remaining().amount(), 80000);
  MoveTo(absl::CivilSecond(2028, 4, 1, 0, 0, 30));
  v1::QualificationResult april = Recipient(1);
  EXPECT_EQ(april.equipment_purchase_used().amount(), 0);
  EXPECT_EQ(april.equipment_purchase_remaining().amount(), 100000);
}

TEST_F(DateRulesTest, CopayPeriodTurnsOnAugustFirst) {
  StartAt(absl::CivilSecond(2027, 7, 31, 12, 0, 0));
  v1::QualificationResult july = Recipient(4);
  EXPECT_EQ(IsoDate(DayOf(july.copay_period().start())), "2026-08-01");
  EXPECT_EQ(IsoDate(DayOf(july.copay_period().end())), "2027-07-31");
  MoveTo(absl::CivilSecond(2027, 8, 1, 9, 0, 0));
  v1::QualificationResult august = Recipient(4);
  EXPECT_EQ(IsoDate(DayOf(august.copay_period().start())), "2027-08-01");
  EXPECT_EQ(IsoDate(DayOf(august.copay_period().end())), "2028-07-31");
  EXPECT_EQ(IsoDate(DayOf(august.cost_limit_period().start())), "2027-08-01");
}

TEST_F(DateRulesTest, MunicipalityGoesLiveOnItsDay) {
  StartAt(absl::CivilSecond(2027, 6, 15, 10, 0, 0));  // FY2027: 市原市 goes live on 2029-04-01
  v1::QualificationResult result;
  MoveTo(absl::CivilSecond(2029, 3, 31, 23, 0, 0));
  grpc::Status before = Lookup("122192", 46, &result);
  EXPECT_EQ(before.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(before.error_message().find("goes live on 2029-04-01"), std::string::npos)
      << before.error_message();
  MoveTo(absl::CivilSecond(2029, 4, 1, 0, 30, 0));
  grpc::Status on = Lookup("122192", 46, &result);
  EXPECT_TRUE(on.ok()) << on.error_message();
}

TEST_F(DateRulesTest, SubsidyRoundOpensOnItsFirstDay) {
  StartAt(absl::CivilSecond(kRoundOpens - 1) + 12 * 3600);
  v1::ApplicationReport before = ValidateToday();
  ASSERT_FALSE(before.ok());
  EXPECT_NE(before.errors(0).message().find("FY2027 opens on 2027-05-07"), std::string::npos)
      << before.DebugString();
  MoveTo(absl::CivilSecond(kRoundOpens) + 9 * 3600);
  v1::ApplicationReport first = ValidateToday();
  EXPECT_TRUE(first.ok()) << first.DebugString();
  EXPECT_EQ(first.round(), "FY2027");
}

TEST_F(DateRulesTest, SubsidyRoundIsOpenOnItsLastDay) {
  StartAt(absl::CivilSecond(kRoundCloses) + 23 * 3600);
  v1::ApplicationReport last = ValidateToday();
  EXPECT_TRUE(last.ok()) << last.DebugString();
  EXPECT_EQ(last.round(), "FY2027");
}

TEST_F(DateRulesTest, SubsidyRoundIsClosedTheDayAfter) {
  StartAt(absl::CivilSecond(kRoundCloses + 1) + 9 * 3600);
  v1::ApplicationReport after = ValidateToday();
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.errors(0).field(), "application_date");
  EXPECT_NE(after.errors(0).message().find("no subsidy round is open on 2028-03-11"),
            std::string::npos)
      << after.DebugString();
  // Submitting is refused for the same reason, in the office's terms.
  v1::SubsidyApplication filed;
  grpc::Status refused = Submit(kSakura, CompleteDraft(*subsidy_, kSakura, "43").id(), &filed);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("no subsidy round is open"), std::string::npos)
      << refused.error_message();
}

TEST_F(DateRulesTest, ReturnedApplicationWaitsFromTheMonthsLastDayToTheFirst) {
  StartAt(absl::CivilSecond(2027, 9, 30, 10, 0, 0));
  v1::SubsidyApplication draft = CompleteDraft(*subsidy_, kHimawari, "11");
  v1::SubsidyApplication filed;
  grpc::Status first = Submit(kHimawari, draft.id(), &filed);
  ASSERT_TRUE(first.ok()) << first.error_message();
  for (int step = 0; step < 2; ++step) {  // under review, then returned (ひまわり's outcome)
    ASSERT_TRUE(stack_->sandbox
                    ->Faults(R"({"advance_subsidy": {"application_id": ")" +
                             filed.portal_application_id() + "\"}}")
                    .ok());
  }
  v1::GetStatusRequest get;
  get.set_id(draft.id());
  v1::SubsidyStatus returned;
  ASSERT_TRUE(subsidy_->GetStatus(Context(kHimawari).get(), get, Into(&returned)).ok());
  ASSERT_EQ(returned.status(), v1::APPLICATION_STATUS_RETURNED);
  EXPECT_EQ(IsoDate(DayOf(returned.resubmit_from_date())), "2027-10-01");
  v1::UpdateApplicationRequest update;
  update.set_id(draft.id());
  *update.mutable_form() = SubsidyForm("11");
  update.mutable_form()->mutable_readers()->set_model("ACR39-NTTCom (型番 ACR39U-NF)");
  v1::SubsidyApplication updated;
  grpc::Status changed = subsidy_->UpdateApplication(Context(kHimawari).get(), update, Into(&updated));
  ASSERT_TRUE(changed.ok()) << changed.error_message();

  grpc::Status early = Submit(kHimawari, draft.id(), &filed);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(early.error_message().find("may be filed again from 2027-10-01"), std::string::npos)
      << early.error_message();
  MoveTo(absl::CivilSecond(2027, 10, 1, 9, 0, 0));
  grpc::Status again = Submit(kHimawari, draft.id(), &filed);
  EXPECT_TRUE(again.ok()) << again.error_message();
}

TEST_F(DateRulesTest, EvidenceOfSendsAroundNewYearsMidnight) {
  StartAt(absl::CivilSecond(2027, 12, 31, 23, 59, 0));
  EXPECT_EQ(SendPlanAndListEvidenceMonths("before-midnight"), std::vector<std::string>{"202712"});
  MoveTo(absl::CivilSecond(2028, 1, 1, 0, 0, 30));
  EXPECT_EQ(SendPlanAndListEvidenceMonths("after-midnight"), std::vector<std::string>{"202801"});
}

TEST(DateClockTest, ATestClockIsRefusedOffLoopback) {
  TempDir dir;
  std::string config = dir.Write("engine.yaml",
                                 "server:\n  listen: 0.0.0.0:0\n  tls:\n    cert_file: server.crt\n"
                                 "    key_file: server.key\noffices: []\n");
  CommandResult r =
      RunCommand(EngineBinary() + " serve --config " + config + " --clock-offset 86400");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--clock-offset: a test clock is accepted only by an engine that listens "
                          "on loopback alone; server.listen (0.0.0.0:0) is not loopback"),
            std::string::npos)
      << r.output;
  CommandResult sandbox = RunCommand(BuildDir() + "/sandbox/kaigo-sandbox serve --dir " +
                                     dir.path() + " --listen 0.0.0.0:0 --clock-offset 86400");
  EXPECT_EQ(sandbox.exit_code, 2) << sandbox.output;
  EXPECT_NE(sandbox.output.find("--clock-offset: accepted only when listening on loopback"),
            std::string::npos)
      << sandbox.output;
}

}  // namespace
}  // namespace kaigo::testing

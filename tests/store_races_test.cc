// Two engine processes on one store race on the state plugins read, change and write back, and
// nothing is lost or doubled: run on PostgreSQL (a real server started by the test) and on one
// SQLite file shared by both processes.
//  - Subsidy drafts: updates from both engines carrying the revision they read — one lands, every
//    other is ABORTED naming `revision`, and the draft holds the winner's form; a Submit racing an
//    update never files one form and keeps another.
//  - The ファイル連番: units sent from both engines at once each get a number of their own, and all
//    arrive.
#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <set>
#include <thread>

#include "careplan/testing/sample_files.h"
#include "kaigo/v1/careplan_exchange.grpc.pb.h"
#include "kaigo/v1/subsidy.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/postgres_server.h"
#include "tests/support/subsidy_drafts.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;

constexpr char kSakura[] = "1371000017";    // 居宅介護支援 (43); its filings are approved
constexpr char kHimawari[] = "1371000025";  // receives the care-plan units

struct Engine {
  std::unique_ptr<v1::SubsidyService::Stub> subsidy;
  std::unique_ptr<v1::CarePlanExchangeService::Stub> careplan;
  explicit Engine(const std::string& target) {
    auto channel = InsecureChannel(target);
    subsidy = v1::SubsidyService::NewStub(channel);
    careplan = v1::CarePlanExchangeService::NewStub(channel);
  }
};

class StoreRacesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string store_yaml;  // SQLite: both engines open state.db in the configuration directory
    if (GetParam() == "postgres") {
      auto pg = PostgresServer::Start();
      ASSERT_TRUE(pg.ok()) << pg.status();
      postgres_ = *std::move(pg);
      auto db = postgres_->Database("races");
      ASSERT_TRUE(db.ok()) << db.status();
      std::string conninfo = secrets_.Write("conninfo", *db + "\n");
      store_yaml = "store:\n  postgres:\n    conninfo: {file: " + conninfo + "}\n";
    }
    auto stack = PlatformStack::Start(
        {"subsidy_filing", "careplan_exchange"},
        [](const SandboxProcess& sandbox, const TempDir& dir) {
          WriteOpenRoundRules(dir);
          return PlatformOfficeYaml(
              sandbox, dir, kSakura, "sakura-cm", "Sakura#2026",
              {{"kaigo.v1.SubsidyService", "subsidy_filing", {"rules_file: subsidy-rules.yaml"}},
               {"kaigo.v1.CarePlanExchangeService",
                "careplan_exchange",
                {"service_type: \"43\""}}});
        },
        "info", store_yaml);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    auto second = EngineProcess::Start(stack_->config);
    ASSERT_TRUE(second.ok()) << second.status();
    second_ = *std::move(second);
    engines_[0] = std::make_unique<Engine>(stack_->engine->target());
    engines_[1] = std::make_unique<Engine>(second_->target());
  }

  Engine& engine(int i) { return *engines_[i % 2]; }

  // Runs `call(i, &answers[i])` for every i below `n` at once, each on a thread of its own, and
  // returns their statuses.
  template <class Response>
  static std::vector<grpc::Status> AtOnce(
      int n, std::vector<Response>* answers,
      const std::function<grpc::Status(int i, Response* answer)>& call) {
    answers->assign(n, Response());
    std::vector<grpc::Status> statuses(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] { statuses[i] = call(i, &(*answers)[i]); });
    }
    for (auto& t : threads) t.join();
    return statuses;
  }

  v1::SubsidyApplication Read(const std::string& id) {
    v1::GetApplicationRequest get;
    get.set_id(id);
    v1::SubsidyApplication app;
    grpc::Status s = engine(1).subsidy->GetApplication(Context(kSakura).get(), get, Into(&app));
    EXPECT_TRUE(s.ok()) << s.error_message();
    return app;
  }

  TempDir secrets_;
  std::unique_ptr<PostgresServer> postgres_;
  std::unique_ptr<PlatformStack> stack_;
  std::unique_ptr<EngineProcess> second_;
  std::unique_ptr<Engine> engines_[2];
};

TEST_P(StoreRacesTest, UpdatesFromTheSameRevisionOneLandsTheRestAreAborted) {
  v1::CreateApplicationRequest create;
  *create.mutable_form() = SubsidyForm("43");
  v1::SubsidyApplication app;
  ASSERT_TRUE(engine(0).subsidy->CreateApplication(Context(kSakura).get(), create, Into(&app)).ok());
  const int64_t seen = app.revision();

  constexpr int kUpdates = 8;  // four from each engine, all from the revision read above
  std::vector<v1::SubsidyApplication> answers;
  std::vector<grpc::Status> statuses = AtOnce<v1::SubsidyApplication>(
      kUpdates, &answers, [&](int i, v1::SubsidyApplication* answer) {
        v1::UpdateApplicationRequest update;
        update.set_id(app.id());
        update.set_revision(seen);
        *update.mutable_form() = SubsidyForm("43");
        update.mutable_form()->set_office_name("事業所" + std::to_string(i));
        return engine(i).subsidy->UpdateApplication(Context(kSakura, absl::Seconds(30)).get(),
                                                    update, Into(answer));
      });
  int landed = -1;
  for (int i = 0; i < kUpdates; ++i) {
    if (statuses[i].ok()) {
      EXPECT_EQ(landed, -1) << "two updates from revision " << seen << " both landed";
      landed = i;
      EXPECT_EQ(answers[i].revision(), seen + 1);
    } else {
      EXPECT_EQ(statuses[i].error_code(), grpc::StatusCode::ABORTED) << statuses[i].error_message();
      EXPECT_NE(statuses[i].error_message().find("revision"), std::string::npos)
          << statuses[i].error_message();
    }
  }
  ASSERT_NE(landed, -1) << "one update must land";
  v1::SubsidyApplication stored = Read(app.id());
  EXPECT_EQ(stored.revision(), seen + 1);
  EXPECT_EQ(stored.form().office_name(), "事業所" + std::to_string(landed));

  // A caller still holding the old revision is refused, and overwrites nothing.
  v1::UpdateApplicationRequest stale;
  stale.set_id(app.id());
  stale.set_revision(seen);
  *stale.mutable_form() = SubsidyForm("43");
  v1::SubsidyApplication ignored;
  grpc::Status refused =
      engine(0).subsidy->UpdateApplication(Context(kSakura).get(), stale, Into(&ignored));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(refused.error_message().find("revision"), std::string::npos);
  EXPECT_EQ(Read(app.id()).form().office_name(), "事業所" + std::to_string(landed));
}

TEST_P(StoreRacesTest, ASubmitRacingAnUpdateFilesExactlyWhatItKeeps) {
  v1::SubsidyApplication draft = CompleteDraft(*engine(0).subsidy, kSakura, "43");
  ASSERT_FALSE(draft.id().empty());
  // In turn first: a Submit of a revision an update has replaced is refused and files nothing.
  v1::UpdateApplicationRequest first;
  first.set_id(draft.id());
  first.set_revision(draft.revision());
  *first.mutable_form() = draft.form();
  v1::SubsidyApplication updated_once;
  ASSERT_TRUE(
      engine(1).subsidy->UpdateApplication(Context(kSakura).get(), first, Into(&updated_once)).ok());
  v1::SubmitApplicationRequest stale_submit;
  stale_submit.set_id(draft.id());
  stale_submit.set_revision(draft.revision());
  v1::SubsidyApplication ignored;
  grpc::Status refused =
      engine(0).subsidy->SubmitApplication(Context(kSakura, absl::Seconds(60)).get(), stale_submit, Into(&ignored));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::ABORTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("revision"), std::string::npos);
  EXPECT_EQ(Read(draft.id()).status(), v1::APPLICATION_STATUS_DRAFT);
  draft = updated_once;

  // Then at once, from the same revision, on two engines.
  const int64_t seen = draft.revision();
  grpc::Status submitted, updated;
  v1::SubsidyApplication submit_answer, update_answer;
  std::thread submit([&] {
    v1::SubmitApplicationRequest req;
    req.set_id(draft.id());
    req.set_revision(seen);
    submitted =
        engine(0).subsidy->SubmitApplication(Context(kSakura, absl::Seconds(60)).get(), req, Into(&submit_answer));
  });
  std::thread update([&] {
    v1::UpdateApplicationRequest req;
    req.set_id(draft.id());
    req.set_revision(seen);
    *req.mutable_form() = SubsidyForm("43");
    req.mutable_form()->set_office_name("変更後の事業所");
    updated = engine(1).subsidy->UpdateApplication(Context(kSakura, absl::Seconds(60)).get(), req, Into(&update_answer));
  });
  submit.join();
  update.join();
  EXPECT_NE(submitted.ok(), updated.ok())
      << "exactly one of them lands; submit: " << submitted.error_message()
      << "; update: " << updated.error_message();
  std::cout << GetParam() << ": the " << (submitted.ok() ? "Submit" : "update") << " landed\n";
  v1::SubsidyApplication stored = Read(draft.id());
  EXPECT_EQ(stored.filing_revision(), 0) << "no filing is left open";
  if (submitted.ok()) {
    EXPECT_EQ(updated.error_code(), grpc::StatusCode::ABORTED) << updated.error_message();
    EXPECT_EQ(stored.status(), v1::APPLICATION_STATUS_SUBMITTED);
    EXPECT_EQ(stored.submitted_revision(), seen);
    EXPECT_EQ(stored.revision(), seen) << "the form filed is the form kept";
    EXPECT_EQ(stored.form().office_name(), draft.form().office_name());
  } else {
    EXPECT_EQ(submitted.error_code(), grpc::StatusCode::ABORTED) << submitted.error_message();
    EXPECT_EQ(stored.status(), v1::APPLICATION_STATUS_DRAFT);
    EXPECT_EQ(stored.revision(), seen + 1);
    EXPECT_EQ(stored.form().office_name(), "変更後の事業所");
  }
}

TEST_P(StoreRacesTest, UnitsSentFromBothEnginesAtOnceEachGetANumberOfTheirOwn) {
  namespace cp = kaigo::careplan;
  cp::testing::SampleOptions sample;
  sample.recipients = 1;
  sample.rows_per_recipient = 2;
  sample.month = TestMonth();
  constexpr int kSends = 10;  // five from each engine
  std::vector<v1::SendCarePlanResponse> results;
  std::vector<grpc::Status> statuses = AtOnce<v1::SendCarePlanResponse>(
      kSends, &results, [&](int i, v1::SendCarePlanResponse* answer) {
        v1::SendCarePlanRequest req;
        for (auto kind : {cp::v1::FILE_KIND_UPPLAN, cp::v1::FILE_KIND_UPSIKYU}) {
          *req.add_typed_files() = cp::testing::SampleFile(kind, sample);
        }
        v1::Destination* to = req.add_destinations();
        to->set_office_number(kHimawari);
        to->set_service_type("11");
        req.set_request_id("race-" + std::to_string(i));
        return engine(i).careplan->SendCarePlan(Context(kSakura, absl::Seconds(90)).get(), req, answer);
      });
  std::set<std::string> units;
  for (int i = 0; i < kSends; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    ASSERT_EQ(results[i].sends_size(), 1);
    EXPECT_TRUE(results[i].sends(0).error_code().empty())
        << i << ": " << results[i].sends(0).error_message();
    units.insert(results[i].sends(0).unit());
  }
  EXPECT_EQ(units.size(), static_cast<size_t>(kSends)) << "every unit has a 連番 of its own";
  v1::ListSentResponse sent;
  ASSERT_TRUE(engine(1).careplan->ListSent(Context(kSakura).get(), {}, &sent).ok());
  EXPECT_EQ(sent.units_size(), kSends);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreRacesTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kaigo::testing

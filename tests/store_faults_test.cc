// PostgreSQL restarted under load (`ctest -L faults`): two engine processes share one real
// PostgreSQL and keep creating subsidy drafts (each a plugin store write) while the database is
// stopped by process id and started again. Every draft a caller was told was created is there
// afterwards, on both engines; every call during the outage failed with UNAVAILABLE (never
// INTERNAL, never a deadline passed); each engine's readiness ("kaigo.readiness") went
// NOT_SERVING and came back to SERVING, while liveness ("") answered SERVING throughout; and the
// audit chain still verifies. No assertion depends on timing: waits are generous bounded polls.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "kaigo/v1/subsidy.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/postgres_server.h"
#include "tests/support/subsidy_drafts.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;
using grpc::health::v1::HealthCheckResponse;

constexpr char kSakura[] = "1371000017";
constexpr char kReadiness[] = "kaigo.readiness";

// What one engine's callers and health watcher saw.
struct Observed {
  std::mutex mu;
  std::set<std::string> acknowledged;        // drafts whose creation answered OK
  std::map<grpc::StatusCode, int> failures;  // the other answers, by code
  std::vector<std::string> unexpected;       // failures that were not UNAVAILABLE
  std::atomic<int> ok_count{0};
  std::atomic<int> unavailable_count{0};
  std::atomic<bool> readiness_down{false};  // readiness answered NOT_SERVING at least once
  std::atomic<int> readiness{HealthCheckResponse::UNKNOWN};
  std::atomic<int> liveness_not_serving{0};  // answers of "" other than SERVING
  std::atomic<int> liveness_checks{0};
};

class StoreFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    postgres_ = *std::move(pg);
    // Short store timeouts, so the test's own deadlines are far beyond them.
    auto store =
        postgres_->StoreYaml("faults", secrets_,
                             {"pool_size: 2", "connect_timeout_seconds: 2",
                              "statement_timeout_seconds: 3", "max_reconnect_backoff_seconds: 1"});
    ASSERT_TRUE(store.ok()) << store.status();
    auto stack = PlatformStack::Start(
        {"subsidy_filing"},
        [](const SandboxProcess& sandbox, const TempDir& dir) {
          WriteOpenRoundRules(dir);
          return PlatformOfficeYaml(
              sandbox, dir, kSakura, "sakura-cm", "Sakura#2026",
              {{"kaigo.v1.SubsidyService", "subsidy_filing", {"rules_file: subsidy-rules.yaml"}}});
        },
        "info", *store);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    auto second = EngineProcess::Start(stack_->config);
    ASSERT_TRUE(second.ok()) << second.status();
    second_ = *std::move(second);
    targets_ = {stack_->engine->target(), second_->target()};
  }

  void TearDown() override {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }

  // Creates drafts on `target` one after another until stop_.
  void Write(const std::string& target, Observed* seen) {
    auto stub = v1::SubsidyService::NewStub(InsecureChannel(target));
    while (!stop_) {
      v1::CreateApplicationRequest req;
      *req.mutable_form() = SubsidyForm("43");
      v1::SubsidyApplication app;
      grpc::Status s =
          stub->CreateApplication(Context(kSakura, absl::Seconds(20)).get(), req, Into(&app));
      std::lock_guard<std::mutex> lock(seen->mu);
      if (s.ok()) {
        seen->acknowledged.insert(app.id());
        ++seen->ok_count;
      } else {
        ++seen->failures[s.error_code()];
        if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
          ++seen->unavailable_count;
        } else {
          seen->unexpected.push_back(std::to_string(s.error_code()) + ": " + s.error_message());
        }
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  // Asks `target` for readiness and liveness every 100 ms until stop_.
  void WatchHealth(const std::string& target, Observed* seen) {
    auto health = grpc::health::v1::Health::NewStub(InsecureChannel(target));
    while (!stop_) {
      for (const char* name : {kReadiness, ""}) {
        grpc::health::v1::HealthCheckRequest req;
        req.set_service(name);
        HealthCheckResponse answer;
        grpc::Status s = health->Check(Context("", absl::Seconds(5)).get(), req, &answer);
        int status = s.ok() ? answer.status() : HealthCheckResponse::UNKNOWN;
        if (*name == '\0') {
          ++seen->liveness_checks;
          if (status != HealthCheckResponse::SERVING) ++seen->liveness_not_serving;
        } else {
          seen->readiness = status;
          if (status == HealthCheckResponse::NOT_SERVING) seen->readiness_down = true;
        }
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  // Polls `done` every 50 ms for up to `bound`.
  static bool WaitFor(const std::function<bool()>& done, absl::Duration bound = absl::Seconds(90)) {
    for (absl::Time end = absl::Now() + bound; absl::Now() < end;) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return done();
  }

  TempDir secrets_;
  std::unique_ptr<PostgresServer> postgres_;
  std::unique_ptr<PlatformStack> stack_;
  std::unique_ptr<EngineProcess> second_;
  std::vector<std::string> targets_;
  Observed seen_[2];  // by the engines' callers and watchers; outlives them (TearDown joins)
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

TEST_F(StoreFaultsTest, PostgresRestartedUnderWritesFromTwoReplicasLosesNoAcknowledgedWrite) {
  Observed* seen = seen_;
  for (int i = 0; i < 2; ++i) {
    threads_.emplace_back([this, i] { Write(targets_[i], &seen_[i]); });
    threads_.emplace_back([this, i] { WatchHealth(targets_[i], &seen_[i]); });
  }
  auto all = [&](const std::function<bool(Observed&)>& test) {
    return test(seen[0]) && test(seen[1]);
  };
  ASSERT_TRUE(WaitFor([&] {
    return all(
        [](Observed& o) { return o.ok_count >= 5 && o.readiness == HealthCheckResponse::SERVING; });
  })) << "the engines did not write before the outage";
  EXPECT_FALSE(seen[0].readiness_down || seen[1].readiness_down);

  postgres_->Stop();
  int ok_at_stop[2] = {seen[0].ok_count, seen[1].ok_count};
  EXPECT_TRUE(WaitFor([&] {
    return all([](Observed& o) { return o.readiness_down && o.unavailable_count >= 3; });
  })) << "readiness did not turn NOT_SERVING, or calls did not fail, while PostgreSQL was down";

  ASSERT_TRUE(postgres_->Restart().ok()) << postgres_->Log();
  int ok_at_restart[2] = {seen[0].ok_count, seen[1].ok_count};
  EXPECT_TRUE(WaitFor([&] {
    return all([](Observed& o) { return o.readiness == HealthCheckResponse::SERVING; }) &&
           seen[0].ok_count >= ok_at_restart[0] + 5 && seen[1].ok_count >= ok_at_restart[1] + 5;
  })) << "the engines did not recover after PostgreSQL came back";
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();

  std::set<std::string> acknowledged;
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE("engine " + std::to_string(i));
    std::lock_guard<std::mutex> lock(seen[i].mu);
    EXPECT_TRUE(seen[i].unexpected.empty())
        << "calls during the outage must fail UNAVAILABLE; first other: " << seen[i].unexpected[0];
    EXPECT_GT(seen[i].liveness_checks.load(), 0);
    EXPECT_EQ(seen[i].liveness_not_serving.load(), 0) << "liveness must not follow the store";
    EXPECT_GT(seen[i].ok_count.load(), ok_at_stop[i]);
    acknowledged.insert(seen[i].acknowledged.begin(), seen[i].acknowledged.end());
    std::cout << "engine " << i << ": " << seen[i].ok_count << " drafts acknowledged ("
              << seen[i].ok_count - ok_at_restart[i] << " after the restart), "
              << seen[i].unavailable_count << " calls UNAVAILABLE during the outage, "
              << seen[i].liveness_checks << " liveness checks all SERVING\n";
  }
  // Every acknowledged draft is there, as either engine lists them.
  for (const auto& target : targets_) {
    auto stub = v1::SubsidyService::NewStub(InsecureChannel(target));
    v1::ListApplicationsResponse listed;
    grpc::Status s = stub->ListApplications(Context(kSakura, absl::Seconds(30)).get(), {}, &listed);
    ASSERT_TRUE(s.ok()) << s.error_message();
    std::set<std::string> present;
    for (const auto& app : listed.applications()) present.insert(app.id());
    int missing = 0;
    for (const auto& id : acknowledged) missing += present.count(id) == 0;
    EXPECT_EQ(missing, 0) << "of " << acknowledged.size() << " acknowledged drafts";
  }
  CommandResult verify = RunCommand(EngineBinary() + " audit verify --config " + stack_->config);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

}  // namespace
}  // namespace kaigo::testing

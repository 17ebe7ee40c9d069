// Two engine processes on one PostgreSQL serve the same office: a portal registration started on
// one continues on the other step by step (the one-time password typed by an operator into the
// other engine's relay), and lookups on both at once leave one audit chain that `audit verify`
// accepts. (Races on shared store values — subsidy drafts, the ファイル連番 — are in
// store_races_test.)
#include <gtest/gtest.h>

#include <thread>

#include "kaigo/v1/otp.grpc.pb.h"
#include "kaigo/v1/portal_registration.grpc.pb.h"
#include "kaigo/v1/qualification.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/maildir.h"
#include "tests/support/postgres_server.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;

constexpr char kSakura[] = "1371000017";
constexpr char kMail[] = "office@sakura.example";

struct Engine {
  std::unique_ptr<v1::PortalRegistrationService::Stub> portal;
  std::unique_ptr<v1::OtpService::Stub> otp;
  std::unique_ptr<v1::QualificationService::Stub> qualification;
  explicit Engine(const std::string& target) {
    auto channel = InsecureChannel(target);
    portal = v1::PortalRegistrationService::NewStub(channel);
    otp = v1::OtpService::NewStub(channel);
    qualification = v1::QualificationService::NewStub(channel);
  }
};

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    postgres_ = *std::move(pg);
    auto store = postgres_->StoreYaml("replicas", secrets_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto stack = PlatformStack::Start(
        {"portal_registration", "otp_relay", "qualification"},
        [](const SandboxProcess& sandbox, const TempDir& dir) {
          std::string key = dir.Write("secrets/sealing_key", std::string(64, 'd') + "\n");
          return PlatformOfficeYaml(
              sandbox, dir, kSakura, "sakura-cm", "Sakura#2026",
              {{"kaigo.v1.PortalRegistrationService",
                "portal_registration",
                {"sealing_key_secret: sealing_key", "otp_timeout_seconds: 20"}},
               {"kaigo.v1.OtpService", "otp_relay", {"default_timeout_seconds: 20"}, false},
               {"kaigo.v1.QualificationService", "qualification", {}}},
              {{"sealing_key", key}});
        },
        "info", *store);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    auto second = EngineProcess::Start(stack_->config);
    ASSERT_TRUE(second.ok()) << second.status();
    second_ = *std::move(second);
    a_ = std::make_unique<Engine>(stack_->engine->target());
    b_ = std::make_unique<Engine>(second_->target());
  }

  std::string FromMail(const char* subject, const std::string& pattern) {
    return FromNewestMail(stack_->sandbox->dir() + "/mail", kMail, subject, pattern);
  }

  TempDir secrets_;
  std::unique_ptr<PostgresServer> postgres_;
  std::unique_ptr<PlatformStack> stack_;
  std::unique_ptr<EngineProcess> second_;
  std::unique_ptr<Engine> a_, b_;
};

TEST_F(ReplicasTest, ARegistrationMovesBetweenEnginesAndTheAuditIsOneChain) {
  v1::StartFirstTimeRegistrationRequest start;
  start.set_eclaim_user_id("KJ000000000017");
  start.set_eclaim_password("Eclaim#Sakura1");
  v1::RegistrationFlow flow;
  ASSERT_TRUE(a_->portal->StartFirstTimeRegistration(Context(kSakura).get(), start, Into(&flow)).ok());

  v1::SubmitOneTimePasswordRequest otp;  // on the other engine, with the code from the mail
  otp.set_flow_id(flow.flow_id());
  otp.set_code(FromMail("ワンタイムパスワード", "ワンタイムパスワード：(\\d+)"));
  grpc::Status s = b_->portal->SubmitOneTimePassword(Context(kSakura).get(), otp, Into(&flow));
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_USER_DETAILS);

  v1::SubmitUserDetailsRequest details;
  details.set_flow_id(flow.flow_id());
  details.mutable_details()->set_email(kMail);
  details.mutable_details()->set_name("佐藤 花子");
  details.mutable_details()->set_name_kana("サトウ　ハナコ");
  details.mutable_details()->set_phone("0312345678");
  ASSERT_TRUE(a_->portal->SubmitUserDetails(Context(kSakura).get(), details, Into(&flow)).ok());
  v1::ConfirmRequest confirm;
  confirm.set_flow_id(flow.flow_id());
  ASSERT_TRUE(b_->portal->Confirm(Context(kSakura).get(), confirm, Into(&flow)).ok());
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_FIRST_LOGIN);

  // First login on A; its one-time password is typed by an operator on B.
  std::thread operator_on_b([&] {
    for (int i = 0; i < 200; ++i) {
      v1::ListPendingResponse pending;
      if (b_->otp->ListPending(Context(kSakura).get(), {}, &pending).ok() &&
          pending.pending_size() > 0) {
        v1::ProvideOtpRequest provide;
        provide.set_otp_id(pending.pending(0).otp_id());
        provide.set_code(FromMail("ワンタイムパスワード", "ワンタイムパスワード：(\\d+)"));
        v1::ProvideOtpResponse ignored;
        EXPECT_TRUE(b_->otp->ProvideOtp(Context(kSakura).get(), provide, &ignored).ok());
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "engine B never saw engine A's pending OTP request";
  });
  v1::CompleteFirstLoginRequest login;
  login.set_flow_id(flow.flow_id());
  login.set_initial_password(FromMail("ユーザ登録完了", "初期パスワード：(\\S+)"));
  login.set_new_password("NewPass2026x");
  login.set_new_password_confirmation("NewPass2026x");
  login.set_terms_accepted(true);
  s = a_->portal->CompleteFirstLogin(Context(kSakura, absl::Seconds(30)).get(), login, Into(&flow));
  operator_on_b.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(flow.next_step(), v1::REGISTRATION_STEP_DONE);
  v1::ListUsersResponse users;  // the portal session, kept by A, serves B
  ASSERT_TRUE(b_->portal->ListUsers(Context(kSakura).get(), {}, &users).ok());
  EXPECT_EQ(users.users_size(), 1);

  // Lookups on both engines at once: every answer audited into one chain.
  std::vector<std::thread> callers;
  for (auto* engine : {a_.get(), b_.get()}) {
    callers.emplace_back([engine] {
      for (int i = 0; i < 20; ++i) {
        v1::LookupByInsuredNumberRequest req;
        req.mutable_insurer()->set_value("131011");
        req.mutable_insured()->set_value("0000100004");
        v1::QualificationResult result;
        EXPECT_TRUE(
            engine->qualification->LookupByInsuredNumber(Context(kSakura).get(), req, Into(&result))
                .ok());
      }
    });
  }
  for (auto& t : callers) t.join();
  CommandResult verify = RunCommand(EngineBinary() + " audit verify --config " + stack_->config);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("audit log intact: 40 record"), std::string::npos) << verify.output;
}

}  // namespace
}  // namespace kaigo::testing

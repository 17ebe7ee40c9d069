// CertificationService end to end through engine, plugin and sandbox over TLS: progress and
// result, 認定情報 refused to anyone but the recipient's care managers, documents streamed in
// chunks whose SHA-256 matches, WatchProgress pushing each status change, `audit verify`
// finding a tampered record, and an office with a web-service user per role: a call acting as
// care_manager logs in as the care manager's user and sees 認定情報, one acting as care_staff as
// the care worker's user, whom the platform refuses by job type.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include <filesystem>

#include "absl/strings/escaping.h"
#include "kaigo/v1/certification.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;

constexpr char kSakura[] = "1371000017";    // care manager of most recipients
constexpr char kHimawari[] = "1371000025";  // 訪問介護: no 認定情報

// Recipient `insured` of 千代田区 (131011).
// A GetProgress, GetResult or WatchProgress request for one of 杉並区's recipients.
template <class Req = v1::GetProgressRequest>
Req Request(const std::string& insured) {
  Req r;
  r.mutable_recipient()->mutable_insurer()->set_value("131011");
  r.mutable_recipient()->mutable_insured()->set_value(insured);
  return r;
}

class CertificationE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = PlatformStack::Start({"certification"}, [](const SandboxProcess& sandbox,
                                                            const TempDir& dir) {
      std::vector<PlatformBinding> bindings = {{"kaigo.v1.CertificationService",
                                                "certification",
                                                {"poll_interval_seconds: 1", "chunk_bytes: 100"}}};
      return PlatformOfficeYaml(sandbox, dir, kSakura, "sakura-cm", "Sakura#2026", bindings) +
             PlatformOfficeYaml(sandbox, dir, kHimawari, "himawari-staff", "Himawari#2026",
                                bindings);
    });
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    sandbox_ = stack_->sandbox.get();
    dir_ = stack_->dir.get();
    config_ = stack_->config;
    stub_ = v1::CertificationService::NewStub(InsecureChannel(stack_->engine->target())).release();
  }
  static void TearDownTestSuite() {
    delete stub_;
    delete stack_;
  }

  static PlatformStack* stack_;
  static SandboxProcess* sandbox_;
  static TempDir* dir_;
  static std::string config_;
  static v1::CertificationService::Stub* stub_;
};

PlatformStack* CertificationE2eTest::stack_ = nullptr;
SandboxProcess* CertificationE2eTest::sandbox_ = nullptr;
TempDir* CertificationE2eTest::dir_ = nullptr;
std::string CertificationE2eTest::config_;
v1::CertificationService::Stub* CertificationE2eTest::stub_ = nullptr;

TEST_F(CertificationE2eTest, ProgressAndResult) {
  v1::CertificationProgress progress;
  ASSERT_TRUE(stub_->GetProgress(Context(kSakura).get(), Request("0000100004"), Into(&progress)).ok());
  EXPECT_EQ(progress.status(), v1::CERTIFICATION_STATUS_CERTIFIED);
  EXPECT_EQ(progress.result(), v1::CARE_LEVEL_CARE_1);
  v1::CertificationResult result;
  ASSERT_TRUE(stub_->GetResult(Context(kSakura).get(), Request<v1::GetResultRequest>("0000100004"), Into(&result)).ok());
  EXPECT_EQ(result.care_level(), v1::CARE_LEVEL_CARE_1);

  // #18 applied and waits for its physician's opinion to be reviewed.
  ASSERT_TRUE(stub_->GetProgress(Context(kSakura).get(), Request("0000100018"), Into(&progress)).ok());
  EXPECT_EQ(progress.status(), v1::CERTIFICATION_STATUS_OPINION_RECEIVED);
  auto pending = stub_->GetResult(Context(kSakura).get(), Request<v1::GetResultRequest>("0000100018"), Into(&result));
  EXPECT_EQ(pending.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(pending.error_message().find("still in progress"), std::string::npos);
}

TEST_F(CertificationE2eTest, OnlyTheRecipientsCareManagersSeeIt) {
  v1::CertificationProgress progress;
  auto other_manager = stub_->GetProgress(Context(kSakura).get(), Request("0000100003"), Into(&progress));
  EXPECT_EQ(other_manager.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(other_manager.error_message().find("care managers"), std::string::npos);
  auto service_office =
      stub_->GetProgress(Context(kHimawari).get(), Request("0000100004"), Into(&progress));
  EXPECT_EQ(service_office.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(CertificationE2eTest, DocumentArrivesWholeWithItsSha256) {
  v1::ListDocumentsRequest list;
  *list.mutable_recipient() = Request("0000100004").recipient();
  v1::ListDocumentsResponse documents;
  ASSERT_TRUE(stub_->ListDocuments(Context(kSakura).get(), list, &documents).ok());
  ASSERT_EQ(documents.documents_size(), 2);
  const auto& survey = documents.documents(0).kind() == v1::DOCUMENT_KIND_SURVEY
                           ? documents.documents(0)
                           : documents.documents(1);

  v1::FetchDocumentRequest fetch;
  *fetch.mutable_recipient() = list.recipient();
  fetch.set_document_id(survey.document_id());
  auto context = Context(kSakura);
  auto reader = stub_->FetchDocument(context.get(), fetch);
  v1::FetchDocumentResponse piece;
  std::string pdf, sha256;
  int chunks = 0;
  while (reader->Read(&piece)) {
    EXPECT_EQ(piece.chunk().offset(), static_cast<int64_t>(pdf.size()));
    pdf += piece.chunk().data();
    sha256 = piece.chunk().sha256();
    ++chunks;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_GT(chunks, 5) << "100-byte chunks";
  EXPECT_EQ(static_cast<int64_t>(pdf.size()), survey.size_bytes());
  EXPECT_EQ(pdf.rfind("%PDF-1.4", 0), 0u);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(pdf.data(), pdf.size(), digest, &size, EVP_sha256(), nullptr);
  EXPECT_EQ(sha256,
            absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), size)));

  // A document of another recipient cannot be fetched under this one's name.
  fetch.set_document_id("S-131011-0000100005");
  auto other = Context(kSakura);
  auto refused = stub_->FetchDocument(other.get(), fetch);
  while (refused->Read(&piece)) {
  }
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(CertificationE2eTest, WatchProgressPushesEachChange) {
  auto context = Context(kSakura, absl::Seconds(30));
  auto reader = stub_->WatchProgress(context.get(), Request<v1::WatchProgressRequest>("0000100027"));  // under_review
  v1::WatchProgressResponse change;
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(change.progress().status(), v1::CERTIFICATION_STATUS_UNDER_REVIEW);
  ASSERT_TRUE(
      sandbox_
          ->Faults(
              R"({"advance_certification": {"insurer_number": "131011", "insured_number": "0000100027"}})")
          .ok());
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(change.progress().status(), v1::CERTIFICATION_STATUS_CERTIFIED);
  EXPECT_EQ(change.progress().result(), v1::CARE_LEVEL_CARE_1);
  context->TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

// An office that binds a web-service user per role (platform.accounts): its care manager's,
// sakura-cm, and a care worker's, sakura-staff, whose job type the platform does not show
// 認定情報 (別紙4). The engine's policy is widened so that care_staff reaches the plugin for
// GetProgress and WatchProgress; the platform then refuses the care worker's login.
class CertificationByRoleE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = PlatformStack::Start(
        {"certification"},
        [](const SandboxProcess& sandbox, const TempDir& dir) {
          std::vector<PlatformBinding> bindings = {
              {"kaigo.v1.CertificationService", "certification", {"poll_interval_seconds: 1"}}};
          std::vector<std::pair<std::string, std::string>> secrets = {
              {"cm_user", dir.Write("secrets/cm_user", "sakura-cm\n")},
              {"cm_password", dir.Write("secrets/cm_password", "Sakura#2026\n")},
              {"staff_user", dir.Write("secrets/staff_user", "sakura-staff\n")},
              {"staff_password", dir.Write("secrets/staff_password", "SakuraStaff#2026\n")}};
          // The default user is the least privileged (the staff member's); the care manager's
          // is bound to its role.
          return PlatformOfficeYaml(
              sandbox, dir, kSakura, "sakura-staff", "SakuraStaff#2026", bindings, secrets,
              {"accounts:",
               "  - {role: care_staff, user_id_secret: staff_user, password_secret: "
               "staff_password}",
               "  - {role: care_manager, user_id_secret: cm_user, password_secret: cm_password}"});
        },
        "info",
        "store:\n  sqlite_path: state.db\n"
        "access:\n"
        "  - {method: /kaigo.v1.CertificationService/GetProgress, policy: {roles: [care_manager, "
        "care_staff]}}\n"
        "  - {method: /kaigo.v1.CertificationService/WatchProgress, policy: {roles: "
        "[care_manager, care_staff]}}\n");
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    stub_ = v1::CertificationService::NewStub(InsecureChannel(stack_->engine->target())).release();
  }
  static void TearDownTestSuite() {
    delete stub_;
    delete stack_;
  }

  // A call for さくら acting in `role` (x-kaigo-role; empty: every role the policy admits).
  static std::unique_ptr<grpc::ClientContext> ActingAs(
      const std::string& role, absl::Duration deadline = absl::Seconds(10)) {
    auto context = Context(kSakura, deadline);
    if (!role.empty()) context->AddMetadata("x-kaigo-role", role);
    return context;
  }

  static PlatformStack* stack_;
  static v1::CertificationService::Stub* stub_;
};

PlatformStack* CertificationByRoleE2eTest::stack_ = nullptr;
v1::CertificationService::Stub* CertificationByRoleE2eTest::stub_ = nullptr;

TEST_F(CertificationByRoleE2eTest, ACareManagerSeesItThroughTheCareManagersUser) {
  v1::CertificationProgress progress;
  grpc::Status status =
      stub_->GetProgress(ActingAs("care_manager").get(), Request("0000100004"), Into(&progress));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(progress.status(), v1::CERTIFICATION_STATUS_CERTIFIED);
}

TEST_F(CertificationByRoleE2eTest, ACareWorkersUserIsRefusedByItsJobType) {
  v1::CertificationProgress progress;
  grpc::Status status =
      stub_->GetProgress(ActingAs("care_staff").get(), Request("0000100004"), Into(&progress));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_NE(status.error_message().find("job type"), std::string::npos)
      << "the platform's refusal, not the engine's: " << status.error_message();

  // A watch keeps the user of the call that started it.
  auto context = ActingAs("care_staff", absl::Seconds(30));
  auto reader = stub_->WatchProgress(context.get(), Request<v1::WatchProgressRequest>("0000100004"));
  v1::WatchProgressResponse change;
  EXPECT_FALSE(reader->Read(&change));
  grpc::Status watched = reader->Finish();
  EXPECT_EQ(watched.error_code(), grpc::StatusCode::PERMISSION_DENIED) << watched.error_message();
  EXPECT_NE(watched.error_message().find("job type"), std::string::npos) << watched.error_message();
}

TEST_F(CertificationByRoleE2eTest, ACallInSeveralRolesUsesTheOfficesDefaultUser) {
  // No x-kaigo-role: a desk install grants every office role and the widened policy admits the
  // call as care_manager and care_staff; acting in several roles, it goes as the office's default
  // user — here the staff member's, whom the platform refuses 認定情報.
  v1::CertificationProgress progress;
  grpc::Status status = stub_->GetProgress(ActingAs("").get(), Request("0000100004"), Into(&progress));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_NE(status.error_message().find("job type"), std::string::npos) << status.error_message();
}

// Last: reads the audit log the other tests wrote, then breaks a copy of it.
TEST_F(CertificationE2eTest, ZAuditVerifiesAndCatchesTampering) {
  CommandResult intact = RunCommand(EngineBinary() + " audit verify --config " + config_);
  EXPECT_EQ(intact.exit_code, 0) << intact.output;
  EXPECT_NE(intact.output.find("audit log intact"), std::string::npos);

  TempDir copy;  // the database and its WAL together are a consistent copy
  for (const char* f : {"state.db", "state.db-wal"}) {
    std::error_code ec;
    std::filesystem::copy_file(dir_->path() + "/" + f, copy.path() + "/" + f, ec);
  }
  sqlite3* db;
  ASSERT_EQ(sqlite3_open((copy.path() + "/state.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE audit_log SET outcome = outcome + 1 WHERE seq = 2", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  std::string config =
      copy.Write("engine.yaml",
                 "store:\n  sqlite_path: state.db\nkeys:\n  audit: {id: test-audit-1, secret: "
                 "{file: " +
                     dir_->path() + "/keys/audit.key}}\n");
  CommandResult broken = RunCommand(EngineBinary() + " audit verify --config " + config);
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_NE(broken.output.find("record 2 was altered"), std::string::npos) << broken.output;
}

}  // namespace
}  // namespace kaigo::testing

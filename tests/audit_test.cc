// The audit log end to end (issue 17, item 4): a keyed chain that `kaigo-bridge audit verify`
// checks with the configuration's key and refuses without it or with another; a record rewritten
// by someone with the database but not the key is found; `audit search` answers "who viewed this
// recipient?" from the keyed references; a disclosure whose record cannot be written does not
// happen (label faults). One engine with the qualification and certification plugins and the
// sandbox, started and stopped by pid; the tests share its log and run in name order.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "engine/store/audit_chain.h"
#include "kaigo/v1/certification.grpc.pb.h"
#include "kaigo/v1/qualification.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;

constexpr char kSakura[] = "1371000017";

class AuditTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = PlatformStack::Start(
        {"qualification", "certification"}, [](const SandboxProcess& sandbox, const TempDir& dir) {
          return PlatformOfficeYaml(
              sandbox, dir, kSakura, "sakura-cm", "Sakura#2026",
              {{"kaigo.v1.QualificationService", "qualification", {"cache_ttl_seconds: 0"}},
               {"kaigo.v1.CertificationService", "certification", {"poll_interval_seconds: 1"}}});
        });
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    auto channel = InsecureChannel(stack_->engine->target());
    qualification_ = v1::QualificationService::NewStub(channel).release();
    certification_ = v1::CertificationService::NewStub(channel).release();
  }
  static void TearDownTestSuite() {
    delete qualification_;
    delete certification_;
    delete stack_;
  }

  static grpc::Status Lookup(const std::string& insured, const std::string& user) {
    v1::LookupByInsuredNumberRequest request;
    request.mutable_insurer()->set_value("131011");
    request.mutable_insured()->set_value(insured);
    v1::QualificationResult result;
    auto context = Context(kSakura);
    if (!user.empty()) context->AddMetadata("x-kaigo-user", user);
    return qualification_->LookupByInsuredNumber(context.get(), request, Into(&result));
  }
  static std::string Dir() { return stack_->dir->path(); }
  static CommandResult Bridge(const std::string& args) {
    return RunCommand(EngineBinary() + " " + args + " 2>&1");
  }
  // A copy of the database (with its WAL) and a configuration for it with `keys_yaml`.
  static std::string CopyWith(const TempDir& copy, const std::string& keys_yaml) {
    for (const char* f : {"state.db", "state.db-wal"}) {
      std::error_code ec;
      std::filesystem::copy_file(Dir() + "/" + f, copy.path() + "/" + f, ec);
    }
    return copy.Write("engine.yaml", "store:\n  sqlite_path: state.db\n" + keys_yaml);
  }
  static void Sql(const std::string& db_path, const std::string& sql) {
    sqlite3* db;
    ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    sqlite3_close(db);
  }

  static PlatformStack* stack_;
  static v1::QualificationService::Stub* qualification_;
  static v1::CertificationService::Stub* certification_;
};

PlatformStack* AuditTest::stack_ = nullptr;
v1::QualificationService::Stub* AuditTest::qualification_ = nullptr;
v1::CertificationService::Stub* AuditTest::certification_ = nullptr;

TEST_F(AuditTest, ASearchFindsWhoLookedUpARecipient) {
  ASSERT_TRUE(Lookup("0000100004", "staff-0421").ok());
  ASSERT_TRUE(Lookup("0000100004", "").ok());
  ASSERT_TRUE(Lookup("0000100005", "staff-9999").ok());
  v1::GetProgressRequest progress;
  progress.mutable_recipient()->mutable_insurer()->set_value("131011");
  progress.mutable_recipient()->mutable_insured()->set_value("0000100004");
  v1::CertificationProgress answer;
  ASSERT_TRUE(certification_->GetProgress(Context(kSakura).get(), progress, Into(&answer)).ok());

  CommandResult found =
      Bridge("audit search --config " + stack_->config + " --insurer 131011 --insured 0000100004");
  ASSERT_EQ(found.exit_code, 0) << found.output;
  EXPECT_NE(found.output.find("time\toffice\tcaller\tuser\taction\toutcome"), std::string::npos);
  // time (JST), office, caller (a loopback caller without a certificate), acting user, action.
  EXPECT_NE(found.output.find("+09:00\t" + std::string(kSakura) +
                              "\tanonymous\tstaff-0421\t/kaigo.v1.QualificationService/"
                              "LookupByInsuredNumber\tOK"),
            std::string::npos)
      << found.output;
  EXPECT_NE(found.output.find("\t-\t/kaigo.v1.QualificationService/LookupByInsuredNumber\tOK"),
            std::string::npos)
      << found.output;
  // The same reference across plugins: the engine's key, not one per plugin.
  EXPECT_NE(found.output.find("/kaigo.v1.CertificationService/GetProgress\tOK"), std::string::npos)
      << found.output;
  EXPECT_NE(found.output.find("3 record(s) of this recipient"), std::string::npos) << found.output;
  EXPECT_EQ(found.output.find("staff-9999"), std::string::npos) << "another recipient's lookup";

  CommandResult bad =
      Bridge("audit search --config " + stack_->config + " --insurer 131012 --insured 0000100004");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--insurer: "), std::string::npos) << bad.output;
}

TEST_F(AuditTest, BTheHeadIsLoggedAndTheChainVerifiesWithTheKey) {
  ASSERT_TRUE(Lookup("0000100006", "").ok());
  EXPECT_NE(stack_->engine->Log().find("audit chain head"), std::string::npos);
  CommandResult intact = Bridge("audit verify --config " + stack_->config);
  EXPECT_EQ(intact.exit_code, 0) << intact.output;
  EXPECT_NE(intact.output.find("audit log intact"), std::string::npos) << intact.output;
  EXPECT_NE(intact.output.find("head: "), std::string::npos) << intact.output;
  EXPECT_EQ(intact.output.find("before the chain was keyed"), std::string::npos) << intact.output;
}

TEST_F(AuditTest, CVerifyFailsClearlyWithoutTheKey) {
  TempDir copy;
  std::string config = CopyWith(copy, "");
  CommandResult missing = Bridge("audit verify --config " + config);
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("the engine's keys are needed: keys.audit is not configured"),
            std::string::npos)
      << missing.output;
  EXPECT_FALSE(std::filesystem::exists(copy.path() + "/keys")) << "verify never makes a key";

  std::string env_config =
      copy.Write("env.yaml",
                 "store:\n  sqlite_path: state.db\nkeys:\n  audit: {id: test-audit-1, secret: "
                 "{env: KAIGO_TEST_UNSET_AUDIT_KEY}}\n");
  unsetenv("KAIGO_TEST_UNSET_AUDIT_KEY");
  CommandResult unset = Bridge("audit verify --config " + env_config);
  EXPECT_EQ(unset.exit_code, 1) << unset.output;
  EXPECT_NE(unset.output.find("KAIGO_TEST_UNSET_AUDIT_KEY is not set"), std::string::npos)
      << unset.output;
}

TEST_F(AuditTest, DVerifyFailsWithAnotherKey) {
  TempDir copy;
  copy.Write("other.key", std::string(64, 'o'));
  std::string config =
      CopyWith(copy, "keys:\n  audit: {id: test-audit-1, secret: {file: other.key}}\n");
  CommandResult wrong = Bridge("audit verify --config " + config);
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_NE(wrong.output.find("audit log BROKEN after 1 record(s): record 1 was altered, or the "
                              "audit key 'test-audit-1' configured is not the one it was written "
                              "with"),
            std::string::npos)
      << wrong.output;
}

// Someone with the database but not the key rewrites a record and recomputes its hash as the
// unkeyed chain did (and every hash after it): verify finds the first.
TEST_F(AuditTest, EARecordRewrittenWithAnUnkeyedHashIsFound) {
  TempDir copy;
  std::string config = CopyWith(
      copy, "keys:\n  audit: {id: test-audit-1, secret: {file: " + Dir() + "/keys/audit.key}}\n");
  Sql(copy.path() + "/state.db", "UPDATE audit_log SET outcome = 7 WHERE seq = 2");
  // Recompute record 2's link without the key, as an attacker could.
  engine::AuditRecord forged;
  std::string prev;
  {
    auto store = engine::OpenSqliteStore(copy.path() + "/state.db", {});
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)
                    ->ScanAudit([&](const engine::StoredAuditRecord& s) {
                      if (s.seq != 2) return true;
                      forged = s.record;
                      prev = s.prev_hash;
                      return false;
                    })
                    .ok());
  }
  for (bool keep_key_id : {true, false}) {
    if (!keep_key_id) forged.key_id.clear();
    Sql(copy.path() + "/state.db", "UPDATE audit_log SET key_id = '" + forged.key_id +
                                       "', hash = '" + engine::AuditHashUnkeyed(prev, 2, forged) +
                                       "' WHERE seq = 2");
    CommandResult broken = Bridge("audit verify --config " + config);
    EXPECT_EQ(broken.exit_code, 1) << broken.output;
    EXPECT_NE(broken.output.find(keep_key_id ? "record 2 was altered"
                                             : "record 2 carries no key id after keyed records"),
              std::string::npos)
        << broken.output;
  }
}

// Fail closed: while the audit log refuses records (a trigger stands for a full disk), a document
// is not sent, not even its first chunk, and a lookup answers nothing.
TEST_F(AuditTest, FADisclosureThatCannotBeRecordedDoesNotHappen) {
  std::string db = Dir() + "/state.db";
  v1::ListDocumentsRequest list;
  list.mutable_recipient()->mutable_insurer()->set_value("131011");
  list.mutable_recipient()->mutable_insured()->set_value("0000100004");
  v1::ListDocumentsResponse documents;
  ASSERT_TRUE(certification_->ListDocuments(Context(kSakura).get(), list, &documents).ok());
  ASSERT_GT(documents.documents_size(), 0);

  ASSERT_EQ(RefuseAuditRecords(db, true).exit_code, 0);
  v1::FetchDocumentRequest fetch;
  *fetch.mutable_recipient() = list.recipient();
  fetch.set_document_id(documents.documents(0).document_id());
  auto context = Context(kSakura);
  auto reader = certification_->FetchDocument(context.get(), fetch);
  v1::FetchDocumentResponse chunk;
  int chunks = 0;
  while (reader->Read(&chunk)) ++chunks;
  grpc::Status fetched = reader->Finish();
  grpc::Status looked_up = Lookup("0000100004", "");
  ASSERT_EQ(RefuseAuditRecords(db, false).exit_code, 0);

  EXPECT_EQ(chunks, 0);
  EXPECT_EQ(fetched.error_code(), grpc::StatusCode::UNAVAILABLE) << fetched.error_message();
  EXPECT_NE(fetched.error_message().find("could not be recorded in the audit log"),
            std::string::npos);
  EXPECT_EQ(looked_up.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(Lookup("0000100004", "").ok()) << "recording again, answering again";
}

// A log from before keys (here made by rewriting a copy's chain unkeyed) stays verifiable: an
// engine with a key continues it behind an audit.keyed marker, serves the chain's length and logs
// its head; verify says how many records only a SHA-256 protects.
TEST_F(AuditTest, GAnUnkeyedLogContinuesKeyedBehindAMarker) {
  ASSERT_TRUE(Lookup("0000100004", "").ok());
  TempDir copy;
  std::string keys =
      "keys:\n  audit: {id: test-audit-2, secret: {file: " + Dir() +
      "/keys/audit.key}}\n  recipient_ref: {id: test-ref-1, secret: {file: " + Dir() +
      "/keys/recipient-ref.key}}\n  sealing: {id: test-seal-1, secret: {file: " + Dir() +
      "/keys/sealing.key}}\n";
  std::string config = CopyWith(copy, keys);
  int64_t records = 0;
  {
    auto store = engine::OpenSqliteStore(copy.path() + "/state.db", {});
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<engine::StoredAuditRecord> all;
    ASSERT_TRUE((*store)
                    ->ScanAudit([&](const engine::StoredAuditRecord& s) {
                      all.push_back(s);
                      return true;
                    })
                    .ok());
    std::string prev, sql;
    for (auto& s : all) {
      s.record.key_id.clear();
      std::string hash = engine::AuditHashUnkeyed(prev, s.seq, s.record);
      sql += "UPDATE audit_log SET key_id = '', prev_hash = '" + prev + "', hash = '" + hash +
             "' WHERE seq = " + std::to_string(s.seq) + ";";
      prev = hash;
    }
    records = static_cast<int64_t>(all.size());
    Sql(copy.path() + "/state.db", sql);
  }
  ASSERT_GT(records, 0);
  std::string served = copy.Write("serve.yaml",
                                  "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n"
                                  "  metrics_listen: 127.0.0.1:0\nstore:\n  sqlite_path: "
                                  "state.db\n" +
                                      keys);
  auto engine = EngineProcess::Start(served);
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto metrics = HttpGet((*engine)->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_NE(metrics->find("kaigo_audit_chain_length " + std::to_string(records + 1)),
            std::string::npos)
      << "the marker is the one record more: " << *metrics;
  EXPECT_NE((*engine)->Log().find("audit chain head"), std::string::npos) << (*engine)->Log();
  (*engine)->Stop();

  CommandResult verified = Bridge("audit verify --config " + config);
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_NE(verified.output.find("audit log intact: " + std::to_string(records + 1) +
                                 " record(s); the first " + std::to_string(records) +
                                 " were written before the chain was keyed"),
            std::string::npos)
      << verified.output;
  CommandResult marker =
      RunCommand("sqlite3 " + copy.path() + "/state.db \"SELECT action, key_id FROM audit_log " +
                 "WHERE seq = " + std::to_string(records + 1) + "\"");
  EXPECT_EQ(marker.output, "audit.keyed|test-audit-2\n");
}

}  // namespace
}  // namespace kaigo::testing

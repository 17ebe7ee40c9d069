// The sandbox over real TLS 1.3 with client certificates, driven through the plugins' platform
// client: login and tokens, a refresh the caller does not notice, lockout, visibility rules (by
// office and by the user's job type), go-live dates, retries through 503s and dropped
// connections, and the circuit breaker while the sandbox is down and after it is back; the
// portal's subsidy desk (uploads checked by type, one application per office, idempotent filing,
// resubmission from the next month) read through the subsidy plugin's answer parser;
// ケアプランデータ連携 (a send unit from a care manager to a service office, listed, fetched and
// acknowledged, and refused when its names, units or destination are wrong) and the
// 居宅サービス計画作成依頼届出 filed by a care manager with identity by numbers and by card.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "nlohmann/json.hpp"
#include "platform_client.h"
#include "plugins/subsidy_filing/portal_answers.h"
#include "tests/support/sample_files.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

using nlohmann::json;
using platform::ClientOptions;
using platform::PlatformClient;

constexpr char kSakura[] = "1371000017";    // 居宅介護支援, care manager of most recipients
constexpr char kHimawari[] = "1371000025";  // 訪問介護
constexpr char kAoba[] = "1371000033";  // 居宅介護支援, care manager of recipients #3, #13, …
constexpr char kMidori[] = "1312345670";  // medical institution without care services

class SandboxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto sandbox = SandboxProcess::Start();
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = sandbox->release();
  }
  static void TearDownTestSuite() { delete sandbox_; }

  static ClientOptions Options(const std::string& office, const std::string& user,
                               const std::string& password) {
    ClientOptions o;
    o.base_url = sandbox_->base_url();
    o.ca_pem = sandbox_->ca_pem();
    o.client_p12 = sandbox_->p12(office);
    o.client_p12_password = "sandbox";
    o.user_id = user;
    o.password = password;
    o.initial_backoff = absl::Milliseconds(20);
    return o;
  }
  static std::unique_ptr<PlatformClient> Client(ClientOptions o) {
    auto client = PlatformClient::Create(std::move(o));
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }
  static std::unique_ptr<PlatformClient> Sakura() {
    return Client(Options(kSakura, "sakura-cm", "Sakura#2026"));
  }
  static json GetJson(PlatformClient& client, const std::string& path) {
    auto r = client.Get(path);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? json::parse(r->body, nullptr, false) : json();
  }

  // A key of the request's content: the same request again is a retry.
  static platform::IdempotencyKey ContentKey(const std::string& path, const std::string& body) {
    return platform::IdempotencyKey::Derived("sandbox_test", path, {body});
  }
  // The answer's JSON of an authenticated POST.
  static json PostJson(PlatformClient& client, const std::string& path, const json& body) {
    auto r = client.Post(path, body.dump(), ContentKey(path, body.dump()));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? json::parse(r->body, nullptr, false) : json();
  }
  // POST /api/v1/careplan/sends of `files` (name, bytes).
  static json SendCarePlan(PlatformClient& client, const std::string& reference,
                           const std::string& to_office, const std::string& to_type,
                           const std::vector<std::pair<std::string, std::string>>& files) {
    json body = {{"client_reference", reference},
                 {"to_office", to_office},
                 {"to_service_type", to_type},
                 {"files", json::array()}};
    for (const auto& [name, bytes] : files) {
      body["files"].push_back({{"name", name}, {"content", absl::Base64Escape(bytes)}});
    }
    return PostJson(client, "/api/v1/careplan/sends", body);
  }
  static std::string Sha256Hex(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
    return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
  }
  // What a test My Number card with common name `cn` answers to `challenge`: its certificate
  // (DER) and its signature (RSA PKCS#1 v1.5 over SHA-256), from the files make-certs wrote.
  static std::pair<std::string, std::string> CardAnswer(const std::string& cn,
                                                        const std::string& challenge) {
    std::string base = sandbox_->dir() + "/jpki-card-" + cn;
    std::string cert_pem = ReadFile(base + ".crt"), key_pem = ReadFile(base + ".key");
    BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    std::string der, signature;
    unsigned char* out = nullptr;
    int der_size = cert == nullptr ? -1 : i2d_X509(cert, &out);
    if (der_size > 0) der.assign(reinterpret_cast<char*>(out), der_size);
    OPENSSL_free(out);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    size_t size = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(challenge.data());
    if (key != nullptr && EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestSign(md, nullptr, &size, data, challenge.size()) == 1) {
      signature.resize(size);
      EVP_DigestSign(md, reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                     challenge.size());
      signature.resize(size);
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    X509_free(cert);
    return {der, signature};
  }

  static SandboxProcess* sandbox_;
};

SandboxProcess* SandboxTest::sandbox_ = nullptr;

// Runs before WrongPasswordsLockTheAccount, which locks ひまわり's user for 30 minutes.
TEST_F(SandboxTest, ASubsidyDeskKeepsItsRules) {
  namespace subsidy = plugins::subsidy;
  auto himawari = Client(Options(kHimawari, "himawari-staff", "Himawari#2026"));
  auto upload = [&](const std::string& kind, const std::string& content) {
    std::string path = "/portal/v1/subsidy/attachments?kind=" + kind + "&file_name=f";
    auto r = himawari->Post(path, content, ContentKey(path, content), "application/octet-stream");
    EXPECT_TRUE(r.ok()) << r.status();
    return subsidy::ParseUploaded(r.ok() ? r->body : "");
  };
  auto word = upload("receipt", "PK\x03\x04 a Word file");
  EXPECT_EQ(word.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(word.status().message().find("PDF、JPG、PNG"), std::string::npos);
  json attachments = json::array();
  for (const char* kind : {"passbook", "service_type_document", "receipt"}) {
    auto id = upload(kind, SamplePdf(kind));
    ASSERT_TRUE(id.ok()) << id.status();
    attachments.push_back({{"attachment_id", *id}, {"kind", kind}});
  }
  json form = {{"office_name", "ひまわり"},  {"address", "東京都"},
               {"phone", "0300000000"},      {"bank", {{"account_number", "1234567"}}},
               {"attachments", attachments}, {"grant_requested", 42000}};
  auto file = [&](const std::string& reference) {
    form["client_reference"] = reference;
    auto r = himawari->Post("/portal/v1/subsidy/applications", form.dump(),
                            ContentKey("/portal/v1/subsidy/applications", form.dump()));
    EXPECT_TRUE(r.ok()) << r.status();
    return subsidy::ParseFiled(r.ok() ? r->body : "");
  };
  auto first = file("draft-1-r1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->status, kaigo::v1::APPLICATION_STATUS_SUBMITTED);
  auto repeated = file("draft-1-r1");
  ASSERT_TRUE(repeated.ok());
  EXPECT_EQ(repeated->portal_id, first->portal_id) << "the same client reference, the same filing";
  auto second = file("draft-2-r1");
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find("既に助成金を申請しています"), std::string::npos);

  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        sandbox_->Faults(R"({"advance_subsidy": {"application_id": ")" + first->portal_id + "\"}}")
            .ok());
  }
  auto status = himawari->Get("/portal/v1/subsidy/applications/" + first->portal_id);
  ASSERT_TRUE(status.ok());
  auto parsed = subsidy::ParseStatus(status->body);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->status(), kaigo::v1::APPLICATION_STATUS_RETURNED);
  EXPECT_EQ(parsed->return_reasons_size(), 1);
  EXPECT_EQ(parsed->resubmit_from_date().day(), 1);
  auto early = file("draft-1-r2");
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(early.status().message().find("resubmission from "), std::string::npos)
      << early.status();

  auto list = himawari->Get("/portal/v1/subsidy/applications");
  ASSERT_TRUE(list.ok());
  auto prior = subsidy::ParseApplications(list->body);
  ASSERT_TRUE(prior.ok());
  ASSERT_EQ(prior->size(), 1u);
  EXPECT_EQ((*prior)[0].status, kaigo::v1::APPLICATION_STATUS_RETURNED);
}

// Runs before WrongPasswordsLockTheAccount: ひまわり receives.
TEST_F(SandboxTest, ACarePlanSendUnitReachesItsDestinationOnly) {
  auto sakura = Sakura();
  auto himawari = Client(Options(kHimawari, "himawari-staff", "Himawari#2026"));
  auto aoba = Client(Options(kAoba, "aoba-cm", "Aoba#2026"));
  const std::string kUnit = "20261124100000";
  const std::string plan_name = "UPPLAN_202611_1371000017_43_1371000025_11_" + kUnit + ".CSV";
  const std::string table7_name = "UPSIKYU_202611_1371000017_43_1371000025_11_" + kUnit + ".CSV";
  // Shift_JIS bytes ("ケアプラン"), as the standard's CSV files carry them.
  const std::string plan = "\"4.1\",\"\x83\x50\x83\x41\x83\x76\x83\x89\x83\x93\"\r\n";
  const std::string table7 = "\"4.1\",\"1371000025\",\"11\"\r\n";
  json sent = SendCarePlan(*sakura, "plan-2026-11-r1", kHimawari, "11",
                           {{plan_name, plan}, {table7_name, table7}});
  ASSERT_TRUE(sent.contains("send_id")) << sent;
  std::string id = sent["send_id"];
  EXPECT_EQ(sent["unit"], kUnit);
  EXPECT_TRUE(sent["sent_at"].is_number_integer());
  ASSERT_EQ(sent["files"].size(), 2u);
  EXPECT_EQ(sent["files"][0]["name"], plan_name);
  EXPECT_EQ(sent["files"][0]["size"], plan.size());
  EXPECT_EQ(sent["files"][0]["sha256"], Sha256Hex(plan));
  EXPECT_EQ(SendCarePlan(*sakura, "plan-2026-11-r1", kHimawari, "11",
                         {{plan_name, plan}, {table7_name, table7}}),
            sent)
      << "the same client reference, the same send";

  auto refused = [&](const std::string& to_office, const std::string& to_type,
                     const std::vector<std::pair<std::string, std::string>>& files) {
    static int n = 0;
    return SendCarePlan(*sakura, "refused-" + std::to_string(++n), to_office, to_type,
                        files)["error"];
  };
  const std::string kNext = "20261125100000";
  json e = refused(kHimawari, "11", {{"PLAN_1371000017_43_1371000025_11_" + kNext + ".CSV", plan}});
  EXPECT_EQ(e["code"], "FILE_NAME") << e;
  EXPECT_EQ(e["file"], "PLAN_1371000017_43_1371000025_11_" + kNext + ".CSV");
  e = refused(kHimawari, "11", {{"UPPLAN_1371000017_43_1371000025_11_" + kNext + ".CSV", plan}});
  EXPECT_EQ(e["code"], "FILE_NAME") << "UPPLAN without its 対象年月: " << e;
  e = refused(kHimawari, "11", {{"UP1KYO_1371000033_43_1371000025_11_" + kNext + ".CSV", plan}});
  EXPECT_EQ(e["code"], "NAME_MISMATCH") << "another office as the sender: " << e;
  EXPECT_EQ(e["file"], "UP1KYO_1371000033_43_1371000025_11_" + kNext + ".CSV");
  e = refused(kHimawari, "15", {{"UP1KYO_1371000017_43_1371000025_11_" + kNext + ".CSV", plan}});
  EXPECT_EQ(e["code"], "NAME_MISMATCH") << "another service type as the destination: " << e;
  e = refused(kHimawari, "11",
              {{"UP1KYO_1371000017_43_1371000025_11_" + kNext + ".CSV", plan},
               {"UP2KYO_1371000017_43_1371000025_11_20261125100001.CSV", plan}});
  EXPECT_EQ(e["code"], "UNIT_MISMATCH") << e;
  e = refused(kHimawari, "11", {{"UP1KYO_1371000017_43_1371000025_11_" + kUnit + ".CSV", plan}});
  EXPECT_EQ(e["code"], "UNIT_ORDER") << "a send unit is never reused: " << e;
  e = refused(kHimawari, "11", {{"UP1KYO_1371000017_43_1371000025_11_20261124090000.CSV", plan}});
  EXPECT_EQ(e["code"], "UNIT_ORDER") << "units to one office ascend: " << e;
  EXPECT_EQ(e["highest_sent"], kUnit);
  e = refused(kSakura, "43", {{"UP1KYO_1371000017_43_1371000017_43_" + kNext + ".CSV", plan}});
  EXPECT_EQ(e["code"], "SAME_OFFICE") << e;
  e = refused("1399999999", "11", {{"UP1KYO_1371000017_43_1399999999_11_" + kNext + ".CSV", plan}});
  EXPECT_EQ(e["code"], "OFFICE_UNKNOWN") << e;
  e = refused("13710000", "11", {{"UP1KYO_1371000017_43_1371000025_11_" + kNext + ".CSV", plan}});
  EXPECT_EQ(e["code"], "INVALID_FIELD") << e;
  EXPECT_EQ(e["field"], "to_office");
  e = SendCarePlan(*sakura, "refused-empty", kHimawari, "11", {})["error"];
  EXPECT_EQ(e["field"], "files") << e;
  e = PostJson(
      *sakura, "/api/v1/careplan/sends",
      {{"client_reference", "refused-base64"},
       {"to_office", kHimawari},
       {"to_service_type", "11"},
       {"files", json::array({{{"name", plan_name}, {"content", "not base64!"}}})}})["error"];
  EXPECT_EQ(e["field"], "files[0].content") << e;

  // A later unit, named in the older form (no service-type segments).
  json later = SendCarePlan(*sakura, "plan-2026-12-r1", kHimawari, "11",
                            {{"UP1KYO_1371000017_1371000025_20261201090000.CSV", plan}});
  EXPECT_EQ(later["unit"], "20261201090000") << later;
  EXPECT_EQ(SendCarePlan(*sakura, "plan-2026-11-r1", kHimawari, "11", {})["send_id"], id)
      << "a repeat is no new unit, though a higher one was sent since";

  std::string month = TestMonth();
  json mine = GetJson(*sakura, "/api/v1/careplan/sends?month=" + month);
  ASSERT_EQ(mine["sends"].size(), 2u) << mine;
  EXPECT_EQ(mine["sends"][0]["send_id"], id);
  EXPECT_EQ(mine["sends"][0]["to_office"], kHimawari);
  EXPECT_EQ(mine["sends"][0]["to_service_type"], "11");
  EXPECT_EQ(mine["sends"][0]["files"], sent["files"]);
  EXPECT_TRUE(mine["sends"][0]["acknowledged_at"].is_null());
  EXPECT_EQ(GetJson(*sakura, "/api/v1/careplan/sends?month=202001")["sends"].size(), 0u);

  json inbox = GetJson(*himawari, "/api/v1/careplan/received");
  ASSERT_EQ(inbox["received"].size(), 2u) << inbox;
  EXPECT_EQ(inbox["received"][0]["send_id"], id) << "in 連番 order";
  EXPECT_EQ(inbox["received"][0]["from_office"], kSakura);
  EXPECT_EQ(inbox["received"][0]["from_service_type"], "43");
  EXPECT_EQ(inbox["received"][0]["unit"], kUnit);
  EXPECT_EQ(inbox["received"][1]["unit"], "20261201090000");
  EXPECT_TRUE(inbox["received"][1]["from_service_type"].is_null());
  EXPECT_EQ(GetJson(*aoba, "/api/v1/careplan/received")["received"].size(), 0u);

  std::string file = "/api/v1/careplan/received/" + id + "/files/" + plan_name;
  auto fetched = himawari->Get(file);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->body, plan);
  EXPECT_EQ(fetched->content_type, "text/csv; charset=Shift_JIS");
  EXPECT_EQ(aoba->Get(file).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sakura->Get(file).status().code(), absl::StatusCode::kNotFound)
      << "the received files are the receiver's";
  EXPECT_EQ(himawari->Get("/api/v1/careplan/received/" + id + "/files/UP1KYO.CSV").status().code(),
            absl::StatusCode::kNotFound);

  std::string ack = "/api/v1/careplan/received/" + id + "/ack";
  json first = PostJson(*himawari, ack, json::object());
  ASSERT_TRUE(first["acknowledged_at"].is_number_integer()) << first;
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_EQ(PostJson(*himawari, ack, json::object()), first);
  EXPECT_EQ(PostJson(*aoba, ack, json::object())["error"]["code"], "NOT_FOUND");
  EXPECT_EQ(GetJson(*sakura, "/api/v1/careplan/sends")["sends"][0]["acknowledged_at"],
            first["acknowledged_at"]);
}

TEST_F(SandboxTest, ACarePlanSendTakesEveryNameShapeOfTheStandard) {
  auto sakura = Sakura();
  auto aoba = Client(Options(kAoba, "aoba-cm", "Aoba#2026"));
  const std::string kTail = "_1371000017_43_1371000033_43_20261124110000";
  const std::string jpeg = "\xFF\xD8\xFF\xE0 family";
  json e = SendCarePlan(*sakura, "yobo-bad", kAoba, "43",
                        {{"UPKIHON_IMAGE" + kTail + "_0001.CSV", jpeg}})["error"];
  EXPECT_EQ(e["code"], "FILE_NAME") << "an image is a .jpg: " << e;
  e = SendCarePlan(*sakura, "yobo-bad", kAoba, "43",
                   {{"UPYOBO_202611" + kTail + ".CSV", "x"}})["error"];
  EXPECT_EQ(e["code"], "FILE_NAME") << "UPYOBO has no 対象年月: " << e;
  json sent = SendCarePlan(*sakura, "yobo-1", kAoba, "43",
                           {{"UPKIHON" + kTail + ".CSV", "a"},
                            {"UPKIHON_SUB1" + kTail + ".csv", "b"},
                            {"UPKIHON_SUB2" + kTail + ".Csv", "c"},
                            {"UPYOBO" + kTail + ".CSV", "d"},
                            {"UPYOBO_SUB" + kTail + ".CSV", "e"},
                            {"UPHOSOKU_000000" + kTail + ".CSV", "f"},
                            {"UPKIHON_IMAGE" + kTail + "_0001.JPG", jpeg}});
  ASSERT_EQ(sent["files"].size(), 7u) << sent;
  auto image = aoba->Get("/api/v1/careplan/received/" + sent["send_id"].get<std::string>() +
                         "/files/UPKIHON_IMAGE" + kTail + "_0001.JPG");
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->content_type, "image/jpeg");
  EXPECT_EQ(image->body, jpeg);
}

// Runs before WrongPasswordsLockTheAccount: ひまわり is refused as no care manager.
TEST_F(SandboxTest, ACarePlanRequestIsFiledOnTheRecipientsBehalf) {
  auto sakura = Sakura();
  const std::string progress =
      "/api/v1/certification/progress?insurer_number=131011&insured_number=0000100013";
  EXPECT_EQ(GetJson(*sakura, progress)["error"]["code"], "NOT_PERMITTED")
      << "#13's 居宅介護支援事業所 is あおば";
  const std::string kRequests = "/portal/v1/careplan-requests";
  json form = {{"client_reference", "request-13-r1"},
               {"insurer_number", "131011"},
               {"insured_number", "0000100013"},
               {"request_kind", "change"},
               {"planning_office", kSakura},
               {"care_manager_name", "介護 花子"},
               {"identity",
                {{"method", "numbers"},
                 {"birth_date", "1941-04-26"},  // 1940-01-01 + 13 × 37 days
                 {"documents_checked", {"介護保険被保険者証"}}}}};
  auto variant = [&](const std::string& reference, const json& changes) {
    json f = form;
    f["client_reference"] = reference;
    f.merge_patch(changes);
    return f;
  };
  json e = PostJson(*sakura, kRequests,
                    variant("request-13-wrong", {{"identity", {{"birth_date", "1941-04-27"}}}}));
  EXPECT_EQ(e["error"]["code"], "IDENTITY_MISMATCH") << e;
  e = PostJson(*sakura, kRequests, variant("request-13-aoba", {{"planning_office", kAoba}}));
  EXPECT_EQ(e["error"]["code"], "INVALID_FIELD") << e;
  EXPECT_EQ(e["error"]["field"], "planning_office");
  e = PostJson(*sakura, kRequests, variant("request-none", {{"insured_number", "0000199999"}}));
  EXPECT_EQ(e["error"]["code"], "NOT_FOUND") << e;
  e = PostJson(
      *sakura, kRequests,
      variant("request-46", {{"insurer_number", "122192"}, {"insured_number", "0000100046"}}));
  EXPECT_EQ(e["error"]["code"], "MUNICIPALITY_NOT_LIVE") << e;
  auto himawari = Client(Options(kHimawari, "himawari-staff", "Himawari#2026"));
  e = PostJson(*himawari, kRequests,
               variant("request-13-himawari", {{"planning_office", kHimawari}}));
  EXPECT_EQ(e["error"]["code"], "NOT_CARE_MANAGER") << e;

  json accepted = PostJson(*sakura, kRequests, form);
  ASSERT_TRUE(accepted.contains("notification_id")) << accepted;
  EXPECT_EQ(accepted["status"], "accepted");
  EXPECT_EQ(accepted["identity_method"], "numbers");
  EXPECT_EQ(accepted["accepted_on"], IsoDate(TestToday()));
  EXPECT_EQ(PostJson(*sakura, kRequests, form), accepted) << "the same client reference";
  EXPECT_EQ(GetJson(*sakura, progress)["status"], "certified")
      << "さくら is now #13's 居宅介護支援事業所";
  std::string id = accepted["notification_id"];
  json stored = GetJson(*sakura, kRequests + "/" + id);
  EXPECT_EQ(stored["insured_number"], "0000100013");
  EXPECT_EQ(stored["request_kind"], "change");
  EXPECT_EQ(stored["planning_office"], kSakura);
  EXPECT_EQ(stored["identity"]["documents_checked"][0], "介護保険被保険者証");
  auto aoba = Client(Options(kAoba, "aoba-cm", "Aoba#2026"));
  EXPECT_EQ(GetJson(*aoba, kRequests + "/" + id)["error"]["code"], "NOT_FOUND");

  // By card: the holder of card …0001 is #4 (131011 / 0000100004).
  auto by_card = [&](const std::string& reference, const std::string& insured) {
    json challenge = GetJson(*sakura, "/api/v1/card/challenge");
    std::string bytes;
    EXPECT_TRUE(absl::Base64Unescape(challenge.value("challenge", ""), &bytes));
    auto [certificate, signature] = CardAnswer("20260400000000000001", bytes);
    return PostJson(*sakura, kRequests,
                    variant(reference, {{"insured_number", insured},
                                        {"identity",
                                         {{"method", "card"},
                                          {"birth_date", nullptr},
                                          {"documents_checked", nullptr},
                                          {"challenge", challenge["challenge"]},
                                          {"certificate", absl::Base64Escape(certificate)},
                                          {"signature", absl::Base64Escape(signature)}}}}));
  };
  e = by_card("request-13-card", "0000100013");
  EXPECT_EQ(e["error"]["code"], "IDENTITY_MISMATCH") << e;
  json card = by_card("request-4-card", "0000100004");
  EXPECT_EQ(card["identity_method"], "card") << card;
  json stored_card = GetJson(*sakura, kRequests + "/" + card.value("notification_id", ""));
  EXPECT_EQ(stored_card["identity"],
            json({{"method", "card"}, {"card_certificate_cn", "20260400000000000001"}}));
}

// The idempotency layer: every POST needs an Idempotency-Key; a repeat of a request under its
// key gets the kept answer and performs nothing, another request under the same key is refused
// (422), a refused request is not kept (its key may carry a corrected one), a lost answer is
// found again by the client's own retry, a key in flight is refused (409), and the keys outlive
// a restart.
TEST_F(SandboxTest, EveryPostIsPerformedOncePerIdempotencyKey) {
  // Without a key (curl, with the office's certificate): 400 naming the header.
  const std::string office_pem = sandbox_->dir() + "/office-" + kAoba;
  CommandResult missing = RunCommand(
      "curl -sS --cacert " + sandbox_->dir() + "/ca.crt --cert " + office_pem + ".crt --key " +
      office_pem + ".key -H 'Content-Type: application/json' -d '{}' -w ' %{http_code}' " +
      sandbox_->base_url() + "/api/v1/careplan/sends 2>&1");
  EXPECT_NE(missing.output.find("IDEMPOTENCY_KEY_REQUIRED"), std::string::npos) << missing.output;
  EXPECT_NE(missing.output.find("Idempotency-Key: required"), std::string::npos) << missing.output;
  EXPECT_NE(missing.output.find(" 400"), std::string::npos) << missing.output;
  // The portal's pages too (no login): a repeat is the kept answer, marked, and mails once.
  const std::string himawari_pem = sandbox_->dir() + "/office-" + kHimawari;
  auto eclaim = [&] {
    return RunCommand("curl -sS -i --cacert " + sandbox_->dir() + "/ca.crt --cert " + himawari_pem +
                      ".crt --key " + himawari_pem +
                      ".key -H 'Content-Type: application/json' -H 'Idempotency-Key: eclaim-1' -d "
                      "'{\"kj_id\":\"KJ000000000025\",\"password\":\"Eclaim#Himawari1\","
                      "\"security_code\":\"4321\"}' " +
                      sandbox_->base_url() + "/portal/v1/registration/eclaim 2>&1");
  };
  auto registration_of = [](const std::string& out) {
    size_t at = out.find("\"registration_id\"");
    return at == std::string::npos ? std::string() : out.substr(at, 60);
  };
  CommandResult registered = eclaim();
  ASSERT_NE(registration_of(registered.output), "") << registered.output;
  EXPECT_EQ(registered.output.find("Idempotent-Replayed"), std::string::npos) << registered.output;
  CommandResult repeated = eclaim();
  EXPECT_NE(repeated.output.find("Idempotent-Replayed: true"), std::string::npos)
      << repeated.output;
  EXPECT_EQ(registration_of(repeated.output), registration_of(registered.output));
  EXPECT_EQ(
      RunCommand("ls " + sandbox_->dir() + "/mail/eclaim@himawari.example/new | wc -l").output,
      "1\n")
      << "one OTP mail";

  auto aoba = Client(Options(kAoba, "aoba-cm", "Aoba#2026"));
  auto send = [&](const std::string& key, const std::string& unit) {
    json body = {{"client_reference", "idem-" + unit},
                 {"to_office", kHimawari},
                 {"to_service_type", "11"},
                 {"files",
                  {{{"name", "UPPLAN_202612_1371000033_43_1371000025_11_" + unit + ".CSV"},
                    {"content", absl::Base64Escape("\"4.1\"\r\n")}}}}};
    return aoba->Post("/api/v1/careplan/sends", body.dump(),
                      platform::IdempotencyKey::FromClientReference(key));
  };
  auto sends = [&] { return GetJson(*aoba, "/api/v1/careplan/sends")["sends"].size(); };
  const size_t before = sends();

  auto first = send("idem-key-1", "20261201100000");
  ASSERT_TRUE(first.ok()) << first.status();
  json answer = json::parse(first->body);
  ASSERT_TRUE(answer.contains("send_id")) << answer;
  auto repeat = send("idem-key-1", "20261201100000");
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_EQ(repeat->body, first->body) << "the kept answer, byte for byte";
  EXPECT_EQ(sends(), before + 1);

  // Another request under the same key: refused, nothing performed.
  auto other = send("idem-key-1", "20261201100001");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition) << other.status();
  EXPECT_NE(other.status().message().find("was first used for another request"), std::string::npos)
      << other.status();
  EXPECT_EQ(sends(), before + 1);

  // A refusal is not kept: the key may carry the corrected request.
  auto refused = send("idem-key-2", "20261201099999");  // below the unit sent: UNIT_ORDER
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(json::parse(refused->body)["error"]["code"], "UNIT_ORDER") << refused->body;
  auto corrected = send("idem-key-2", "20261201100002");
  ASSERT_TRUE(corrected.ok()) << corrected.status();
  EXPECT_TRUE(json::parse(corrected->body).contains("send_id")) << corrected->body;
  EXPECT_EQ(sends(), before + 2);

  // The answer lost after the platform performed the request (the connection closed): the
  // client's own retry carries the same key and meets the kept answer.
  ASSERT_TRUE(sandbox_->Faults(R"({"kill_after": {"path": "/api/v1/careplan/sends"}})").ok());
  auto lost = send("idem-key-3", "20261201100003");
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_TRUE(json::parse(lost->body).contains("send_id")) << lost->body;
  EXPECT_EQ(sends(), before + 3) << "performed once although sent twice";

  // A key whose first request is still being performed: 409, which the client retries (here
  // it may not: one attempt), then the kept answer.
  auto impatient_options = Options(kAoba, "aoba-cm", "Aoba#2026");
  impatient_options.max_attempts = 1;
  auto impatient = Client(impatient_options);
  GetJson(*impatient, "/api/v1/municipalities");  // logged in before the platform slows down
  json slow_body = {{"client_reference", "idem-slow"},
                    {"to_office", kHimawari},
                    {"to_service_type", "11"},
                    {"files",
                     {{{"name", "UPPLAN_202612_1371000033_43_1371000025_11_20261201100005.CSV"},
                       {"content", absl::Base64Escape("\"4.1\"\r\n")}}}}};
  const auto slow_key = platform::IdempotencyKey::FromClientReference("idem-key-slow");
  ASSERT_TRUE(sandbox_->Faults(R"({"latency_ms": 600})").ok());
  absl::StatusOr<platform::Response> slow;
  std::thread first_try(
      [&] { slow = aoba->Post("/api/v1/careplan/sends", slow_body.dump(), slow_key); });
  absl::SleepFor(absl::Milliseconds(200));
  auto beside = impatient->Post("/api/v1/careplan/sends", slow_body.dump(), slow_key);
  first_try.join();
  ASSERT_TRUE(sandbox_->Faults("{}").ok());
  ASSERT_TRUE(slow.ok()) << slow.status();
  EXPECT_EQ(beside.status().code(), absl::StatusCode::kUnavailable) << beside.status();
  EXPECT_NE(beside.status().message().find("still being performed"), std::string::npos)
      << beside.status();
  auto after = impatient->Post("/api/v1/careplan/sends", slow_body.dump(), slow_key);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->body, slow->body);
  EXPECT_EQ(sends(), before + 4);

  // Kept across a restart.
  sandbox_->Stop();
  ASSERT_TRUE(sandbox_->Restart().ok());
  auto after_restart = send("idem-key-1", "20261201100000");
  ASSERT_TRUE(after_restart.ok()) << after_restart.status();
  EXPECT_EQ(after_restart->body, first->body);
  EXPECT_EQ(send("idem-key-1", "20261201100004").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sends(), before + 4);
}

TEST_F(SandboxTest, LogsInOnFirstUseAndReadsSeededData) {
  auto client = Sakura();
  json m = GetJson(*client, "/api/v1/municipalities");
  ASSERT_EQ(m["municipalities"].size(), 4u);
  json r = GetJson(*client,
                   "/api/v1/insured-certificate?insurer_number=131011&insured_number=0000100004");
  ASSERT_EQ(r["records"].size(), 1u);
  EXPECT_EQ(r["records"][0]["care_level_code"], "21");
  EXPECT_EQ(r["records"][0]["monthly_limit_units"], 16765);
  EXPECT_EQ(r["records"][0]["copay"]["percent"], 10);
  EXPECT_EQ(client->stats().logins, 1);
}

TEST_F(SandboxTest, ExpiredAccessTokenIsRefreshedWithoutTheCallerNoticing) {
  auto client = Sakura();
  GetJson(*client, "/api/v1/municipalities");
  ASSERT_TRUE(sandbox_->Faults(R"({"expire_access_tokens": true})").ok());
  json m = GetJson(*client, "/api/v1/municipalities");
  EXPECT_EQ(m["municipalities"].size(), 4u);
  EXPECT_EQ(client->stats().refreshes, 1);
  EXPECT_EQ(client->stats().logins, 1);
}

TEST_F(SandboxTest, WrongPasswordsLockTheAccount) {
  for (int i = 0; i < 5; ++i) {
    auto r = Client(Options(kHimawari, "himawari-staff", "wrong"))->Get("/api/v1/municipalities");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  }
  auto locked =
      Client(Options(kHimawari, "himawari-staff", "Himawari#2026"))->Get("/api/v1/municipalities");
  EXPECT_EQ(locked.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(locked.status().message().find("locked"), std::string_view::npos) << locked.status();
}

TEST_F(SandboxTest, UserMustBelongToTheCertificatesOffice) {
  auto r = Client(Options(kMidori, "sakura-cm", "Sakura#2026"))->Get("/api/v1/municipalities");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
}

TEST_F(SandboxTest, VisibilityRules) {
  // 認定情報 only for the care managers of the recipient's 居宅介護支援事業所 (#3 has another one).
  auto sakura = Sakura();
  json own = GetJson(
      *sakura, "/api/v1/certification/progress?insurer_number=131011&insured_number=0000100004");
  EXPECT_EQ(own["status"], "certified");
  json other = GetJson(
      *sakura, "/api/v1/certification/progress?insurer_number=131011&insured_number=0000100003");
  EXPECT_EQ(other["error"]["code"], "NOT_PERMITTED");
  // 負担割合 and 負担限度額 are not shown to medical institutions without care services.
  auto midori = Client(Options(kMidori, "midori-dr", "Midori#2026"));
  json record = GetJson(
      *midori, "/api/v1/insured-certificate?insurer_number=131011&insured_number=0000100004");
  EXPECT_FALSE(record["records"][0].contains("copay"));
  EXPECT_FALSE(record["records"][0].contains("cost_limit"));
  EXPECT_TRUE(record["records"][0].contains("care_level_code"));
}

TEST_F(SandboxTest, CertificationOnlyForACareManagersJobType) {
  // さくら is #4's 居宅介護支援事業所, but of its users only the care manager sees 認定情報
  // (別紙4): sakura-staff's job type is care_staff.
  const std::string kQuery = "?insurer_number=131011&insured_number=0000100004";
  auto staff = Client(Options(kSakura, "sakura-staff", "SakuraStaff#2026"));
  json progress = GetJson(*staff, "/api/v1/certification/progress" + kQuery);
  EXPECT_EQ(progress["error"]["code"], "NOT_PERMITTED") << progress;
  EXPECT_NE(progress["error"]["message"].get<std::string>().find("job type"), std::string::npos)
      << progress;
  json documents = GetJson(*staff, "/api/v1/certification/documents" + kQuery);
  EXPECT_EQ(documents["error"]["code"], "NOT_PERMITTED") << documents;
  json listed = GetJson(*Sakura(), "/api/v1/certification/documents" + kQuery);
  ASSERT_EQ(listed["documents"].size(), 2u);
  auto pdf = staff->Get("/api/v1/certification/documents/" +
                        listed["documents"][0]["document_id"].get<std::string>());
  EXPECT_EQ(pdf.status().code(), absl::StatusCode::kPermissionDenied) << pdf.status();
  // Qualification is not 認定情報: the same user reads it.
  json record = GetJson(*staff, "/api/v1/insured-certificate" + kQuery);
  EXPECT_EQ(record["records"].size(), 1u) << record;
}

TEST_F(SandboxTest, MunicipalitiesNotLiveAreBusinessErrorsWithTheirDate) {
  auto client = Sakura();
  json future = GetJson(
      *client, "/api/v1/insured-certificate?insurer_number=122192&insured_number=0000100046");
  EXPECT_EQ(future["error"]["code"], "MUNICIPALITY_NOT_LIVE");
  EXPECT_EQ(future["error"]["live_from"], IchiharaGoesLive());
  json never = GetJson(
      *client, "/api/v1/insured-certificate?insurer_number=435073&insured_number=0000100049");
  EXPECT_EQ(never["error"]["code"], "MUNICIPALITY_NOT_LIVE");
  EXPECT_TRUE(never["error"]["live_from"].is_null());
}

TEST_F(SandboxTest, DocumentsArePdf) {
  auto client = Sakura();
  json list = GetJson(
      *client, "/api/v1/certification/documents?insurer_number=131011&insured_number=0000100004");
  ASSERT_EQ(list["documents"].size(), 2u);
  auto pdf = client->Get("/api/v1/certification/documents/" +
                         list["documents"][0]["document_id"].get<std::string>());
  ASSERT_TRUE(pdf.ok()) << pdf.status();
  EXPECT_EQ(pdf->content_type, "application/pdf");
  EXPECT_EQ(pdf->body.rfind("%PDF-1.4", 0), 0u);
  EXPECT_EQ(static_cast<int64_t>(pdf->body.size()), list["documents"][0]["size_bytes"]);
}

TEST_F(SandboxTest, RetriesThrough503sAndDroppedConnections) {
  auto client = Sakura();
  GetJson(*client, "/api/v1/municipalities");
  ASSERT_TRUE(sandbox_->Faults(R"({"fail_503": 2})").ok());
  EXPECT_EQ(GetJson(*client, "/api/v1/municipalities")["municipalities"].size(), 4u);
  ASSERT_TRUE(sandbox_->Faults(R"({"drop": 2})").ok());
  EXPECT_EQ(GetJson(*client, "/api/v1/municipalities")["municipalities"].size(), 4u);
  // Two 503s cost two retries; of the two drops, libcurl absorbs one itself (it reconnects once
  // when a reused connection turns out dead), so at least three retries in all.
  EXPECT_GE(client->stats().retries, 3);
  ASSERT_TRUE(sandbox_->Faults(R"({"fail_503": 5})").ok());
  auto failed = client->Get("/api/v1/municipalities");
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(sandbox_->Faults("{}").ok());
}

TEST_F(SandboxTest, TlsBelow13AndPeersWithoutCertificateAreRefused) {
  std::string curl = "curl -s -o /dev/null --cacert " + sandbox_->dir() + "/ca.crt ";
  std::string cert = "--cert " + sandbox_->dir() + "/office-1371000017.crt --key " +
                     sandbox_->dir() + "/office-1371000017.key ";
  EXPECT_EQ(RunCommand(curl + cert + sandbox_->base_url() + "/sandbox/health").exit_code, 0);
  EXPECT_NE(RunCommand(curl + sandbox_->base_url() + "/sandbox/health").exit_code, 0);
  EXPECT_NE(RunCommand(curl + cert + "--tls-max 1.2 " + sandbox_->base_url() + "/sandbox/health")
                .exit_code,
            0);
}

// Last: it stops and restarts the shared sandbox.
TEST_F(SandboxTest, ZBreakerOpensWhileDownAndClosesWhenBack) {
  auto options = Options(kSakura, "sakura-cm", "Sakura#2026");
  options.max_attempts = 1;
  options.breaker_threshold = 3;
  options.breaker_cooldown = absl::Milliseconds(300);
  auto client = Client(options);
  GetJson(*client, "/api/v1/municipalities");
  sandbox_->Stop();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(client->Get("/api/v1/municipalities").status().code(),
              absl::StatusCode::kUnavailable);
  }
  auto fast = client->Get("/api/v1/municipalities");
  EXPECT_EQ(fast.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(fast.status().message().find("calls pause until"), std::string_view::npos)
      << fast.status();
  EXPECT_EQ(client->stats().fast_failures, 1);
  ASSERT_TRUE(sandbox_->Restart().ok());
  absl::SleepFor(absl::Milliseconds(350));
  EXPECT_EQ(GetJson(*client, "/api/v1/municipalities")["municipalities"].size(), 4u);
}

}  // namespace
}  // namespace kaigo::testing

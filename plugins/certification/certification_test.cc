// Certification on the SDK's fake host, the platform scripted (fake_platform.h): progress and
// result mapped from the platform's answers and business errors, a result only once certified,
// and a document streamed in chunks, the last carrying the SHA-256 of the whole, only when the
// platform lists it for the recipient.
#include "certification.h"

#include <gtest/gtest.h>

#include "fake_platform.h"
#include "kaigo/plugins/v1/platform_config.pb.h"
#include "kaigo/sdk/fake_host.h"
#include "kaigo/v1/certification.pb.h"
#include "unreachable_platform.h"

namespace kaigo::plugins::certification {
namespace {

namespace v1 = kaigo::v1;
using platform::testing::FakePlatform;
using sdk::testing::FakeHost;

constexpr char kService[] = "/kaigo.v1.CertificationService/";
constexpr char kProgress[] = "/api/v1/certification/progress";
constexpr char kDocuments[] = "/api/v1/certification/documents";

const kaigo_plugin_api* Api() { return FakePlatform::Exported<&DefineWith>(); }

std::string Progress(const std::string& status, const std::string& extra = "") {
  return R"({"status":")" + status + R"(","applied_on":"2026-09-01","updated_on":"2026-10-15")" +
         extra + "}";
}

class CertificationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kaigo::plugins::v1::CertificationConfig config;
    config.set_chunk_bytes(8);
    platform::testing::UseUnreachablePlatform(&host_, config.mutable_platform());
    ASSERT_TRUE(host_.Load(Api(), config.SerializeAsString()).ok());
  }

  static v1::RecipientKey Recipient() {
    v1::RecipientKey r;
    r.mutable_insurer()->set_value("131011");
    r.mutable_insured()->set_value("0000100004");
    return r;
  }

  absl::StatusOr<v1::CertificationProgress> GetProgress() {
    v1::GetProgressRequest req;
    *req.mutable_recipient() = Recipient();
    auto r = host_.CallUnary<v1::GetProgressResponse>(std::string(kService) + "GetProgress", req);
    if (!r.ok()) return r.status();
    return r->progress();
  }

  absl::StatusOr<v1::CertificationResult> GetResult() {
    v1::GetResultRequest req;
    *req.mutable_recipient() = Recipient();
    auto r = host_.CallUnary<v1::GetResultResponse>(std::string(kService) + "GetResult", req);
    if (!r.ok()) return r.status();
    return r->result();
  }

  sdk::testing::CallResult Fetch(const std::string& document_id) {
    v1::FetchDocumentRequest req;
    *req.mutable_recipient() = Recipient();
    req.set_document_id(document_id);
    return host_.Call(std::string(kService) + "FetchDocument", req.SerializeAsString());
  }

  FakePlatform platform_;  // outlives the host: the plugin's clients send to it
  FakeHost host_;
};

TEST_F(CertificationTest, ProgressIsThePlatformsStageAndDates) {
  platform_.On("GET", kProgress, FakePlatform::Json(Progress("under_review")));
  auto progress = GetProgress();
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->status(), v1::CERTIFICATION_STATUS_UNDER_REVIEW);
  EXPECT_EQ(progress->application_date().month(), 9);
  EXPECT_EQ(progress->update_date().day(), 15);
  EXPECT_EQ(progress->result(), v1::CARE_LEVEL_UNSPECIFIED);
  auto sent = platform_.Requests("GET", kProgress);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].path,
            std::string(kProgress) + "?insurer_number=131011&insured_number=0000100004");
  ASSERT_EQ(host_.Audits().size(), 1u);
  EXPECT_EQ(host_.Audits()[0].subject_ref.find("0000100004"), std::string::npos);
}

TEST_F(CertificationTest, AResultOnlyOnceCertified) {
  platform_.On("GET", kProgress,
               FakePlatform::InTurn({FakePlatform::Json(Progress("surveyed")),
                                     FakePlatform::Json(Progress(
                                         "certified", R"(,"result_care_level_code":"21")"))}));
  EXPECT_EQ(GetResult().status().code(), absl::StatusCode::kFailedPrecondition);
  auto result = GetResult();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->care_level(), v1::CARE_LEVEL_CARE_1);
  EXPECT_EQ(result->decision_date().month(), 10);
  EXPECT_EQ(result->decision_date().day(), 15);
}

TEST_F(CertificationTest, ThePlatformsBusinessErrorsAreStatuses) {
  platform_.On("GET", kProgress,
               FakePlatform::InTurn(
                   {FakePlatform::Json(R"({"error":{"code":"NOT_PERMITTED","message":"no"}})"),
                    FakePlatform::Json(R"({"error":{"code":"MUNICIPALITY_NOT_LIVE",
                                          "message":"not yet","live_from":"2027-04-01"}})"),
                    FakePlatform::Json(R"({"error":{"code":"INSURER_UNKNOWN","message":"?"}})"),
                    FakePlatform::Json(Progress("certified"))}));
  EXPECT_EQ(GetProgress().status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(GetProgress().status().code(), absl::StatusCode::kFailedPrecondition);
  absl::Status unknown = GetProgress().status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.message().find("recipient.insurer.value"), std::string::npos) << unknown;
  EXPECT_EQ(GetProgress().status().code(), absl::StatusCode::kUnavailable)
      << "certified without a care level is not understood";
}

TEST_F(CertificationTest, ADocumentComesInChunksTheLastWithItsSha256) {
  const std::string pdf = "%PDF-1.4 a survey of ten bytes";
  platform_.On("GET", kDocuments,
               FakePlatform::Json(R"({"documents":[{"document_id":"doc-1","kind":"survey",
                                  "size_bytes":30,"media_type":"application/pdf"}]})"));
  platform_.On("GET", std::string(kDocuments) + "/doc-1",
               [pdf](const platform::testing::PlatformRequest&) {
                 platform::Response r;
                 r.http_status = 200;
                 r.content_type = "application/pdf";
                 r.body = pdf;
                 return absl::StatusOr<platform::Response>(r);
               });
  sdk::testing::CallResult r = Fetch("doc-1");
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.messages.size(), 4u);  // 30 bytes in chunks of 8
  std::string joined;
  for (size_t i = 0; i < r.messages.size(); ++i) {
    v1::FetchDocumentResponse m;
    ASSERT_TRUE(m.ParseFromString(r.messages[i]));
    EXPECT_EQ(m.chunk().offset(), static_cast<int64_t>(joined.size()));
    joined += m.chunk().data();
    EXPECT_EQ(m.chunk().sha256().empty(), i + 1 < r.messages.size());
    if (i + 1 == r.messages.size()) {
      EXPECT_EQ(m.chunk().sha256(),
                "d1b2a7eb166af50eaab94f568f84d64046752cef1a1c1884c2604c0f029b7111");
    }
  }
  EXPECT_EQ(joined, pdf);
}

TEST_F(CertificationTest, ADocumentNotListedForTheRecipientIsNotFetched) {
  platform_.On("GET", kDocuments, FakePlatform::Json(R"({"documents":[]})"));
  platform_.On("GET", std::string(kDocuments) + "/*", FakePlatform::Json("{}"));
  sdk::testing::CallResult r = Fetch("doc-9");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kNotFound) << r.status;
  EXPECT_EQ(platform_.Count("GET", std::string(kDocuments) + "/doc-9"), 0);
  ASSERT_EQ(host_.Audits().size(), 1u) << "the refusal is recorded";
  EXPECT_EQ(host_.Audits()[0].outcome, static_cast<int32_t>(absl::StatusCode::kNotFound));

  EXPECT_EQ(Fetch("../x").status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(platform_.Requests().size(), 1u);
}

}  // namespace
}  // namespace kaigo::plugins::certification

// CarePlanExchange on the SDK's fake host with the platform scripted (fake_platform.h): requests
// refused before anything reaches the platform, each with the details a program reads — the
// request field in a BadRequest, and for a file against the standard every finding in a
// PreconditionFailure, however many there are; and a send as the platform sees it: renumbered
// above a ファイル連番 the platform refused (UNIT_ORDER) under the same Idempotency-Key, sent
// once for a request_id however often it is retried, and its evidence found by recipient and
// month.
#include "careplan_exchange.h"

#include <gtest/gtest.h>

#include "careplan/file_name.h"
#include "careplan/testing/sample_files.h"
#include "fake_platform.h"
#include "kaigo/plugins/v1/platform_config.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/fake_host.h"
#include "kaigo/v1/careplan_exchange.pb.h"
#include "nlohmann/json.hpp"
#include "unreachable_platform.h"

namespace kaigo::plugins::careplan {
namespace {

namespace v1 = kaigo::v1;
namespace cp = kaigo::careplan;
using K = cp::v1::FileKind;
using platform::testing::FakePlatform;
using sdk::FindDetail;
using sdk::testing::FakeHost;

constexpr char kService[] = "/kaigo.v1.CarePlanExchangeService/";

constexpr char kSends[] = "/api/v1/careplan/sends";

const kaigo_plugin_api* Api() { return FakePlatform::Exported<&DefineWith>(); }

class CarePlanExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kaigo::plugins::v1::CarePlanExchangeConfig config;
    config.set_service_type("43");
    platform::testing::UseUnreachablePlatform(&host_, config.mutable_platform());
    ASSERT_TRUE(host_.Load(Api(), config.SerializeAsString()).ok());
  }

  absl::Status Call(const char* method, const google::protobuf::Message& request) {
    return host_.Call(std::string(kService) + method, request.SerializeAsString()).status;
  }

  // The field and reason of the first violation in the status's BadRequest.
  static std::pair<std::string, std::string> Violated(const absl::Status& s) {
    google::rpc::BadRequest bad;
    if (!FindDetail(s, &bad) || bad.field_violations().empty()) return {};
    return {bad.field_violations(0).field(), bad.field_violations(0).reason()};
  }

  FakePlatform platform_;  // outlives the host: the plugin's clients send to it
  FakeHost host_;
};

// A 居宅サービス計画 (第1表〜第3表) file of `rows` rows, each with a サービスコード one character
// short.
cp::v1::CarePlanFile BrokenPlan(int recipients) {
  cp::testing::SampleOptions o;
  o.recipients = recipients;
  o.rows_per_recipient = 3;
  cp::v1::CarePlanFile file = cp::testing::SampleFile(K::FILE_KIND_UPPLAN, o);
  for (auto& row : *file.mutable_upplan()) row.set_service_code("11121");
  return file;
}

TEST_F(CarePlanExchangeTest, EveryFindingOfARefusedFileIsInTheDetails) {
  v1::ConvertCarePlanRequest req;
  *req.mutable_typed() = BrokenPlan(5);
  const int rows = req.typed().upplan_size();
  ASSERT_GT(rows, 8) << "more findings than the message names";

  absl::Status s = Call("ConvertCarePlan", req);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(s.message().find("more"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("every one in the error's details"), std::string::npos);

  google::rpc::PreconditionFailure findings;
  ASSERT_TRUE(FindDetail(s, &findings));
  ASSERT_EQ(findings.violations_size(), rows);
  for (const auto& v : findings.violations()) {
    EXPECT_EQ(v.type(), "CARE_PLAN_RULE: length");
    EXPECT_NE(v.subject().find("item 15 サービスコード"), std::string::npos) << v.subject();
    EXPECT_NE(v.description().find("got 5"), std::string::npos) << v.description();
  }
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(FindDetail(s, &info));
  EXPECT_EQ(info.reason(), "CARE_PLAN_FINDINGS");
  EXPECT_EQ(info.domain(), "kaigo-bridge");
  EXPECT_EQ(info.metadata().at("errors"), std::to_string(rows));
  EXPECT_EQ(Violated(s), std::make_pair(std::string("typed"), std::string("CARE_PLAN_FINDINGS")));
  google::rpc::LocalizedMessage staff;
  ASSERT_TRUE(FindDetail(s, &staff));
  EXPECT_EQ(staff.locale(), "ja-JP");
}

TEST_F(CarePlanExchangeTest, ASendNamesTheFileWithFindingsByItsPlaceInTheRequest) {
  v1::SendCarePlanRequest req;
  cp::testing::SampleOptions o;
  v1::CsvFile* good = req.add_files();
  good->set_name(cp::FormatFileName(cp::testing::SampleName(K::FILE_KIND_UPSIKYU, o)));
  good->set_content(cp::testing::SampleBytes(K::FILE_KIND_UPSIKYU, o));
  v1::CsvFile* bad = req.add_files();
  bad->set_name(cp::FormatFileName(cp::testing::SampleName(K::FILE_KIND_UPPLAN, o)));
  bad->set_content(std::string(cp::testing::SampleBytes(K::FILE_KIND_UPPLAN, o)) + "garbage\r\n");
  v1::Destination* to = req.add_destinations();
  to->set_office_number("1371000025");
  to->set_service_type("11");

  absl::Status s = Call("SendCarePlan", req);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(Violated(s).first, "files[1].content") << s;
  google::rpc::PreconditionFailure findings;
  ASSERT_TRUE(FindDetail(s, &findings));
  ASSERT_GT(findings.violations_size(), 0);
  EXPECT_EQ(findings.violations(0).subject().rfind(bad->name(), 0), 0u)
      << findings.violations(0).subject();
}

TEST_F(CarePlanExchangeTest, RequestFieldsAreNamedByTheirPath) {
  v1::SendCarePlanRequest send;
  *send.add_typed_files() = BrokenPlan(1);
  send.add_destinations()->set_office_number("1371000025");
  send.mutable_destinations(0)->set_service_type("11");
  send.add_destinations()->set_office_number("1371000026");  // wrong check digit
  send.mutable_destinations(1)->set_service_type("11");
  EXPECT_EQ(
      Violated(Call("SendCarePlan", send)),
      std::make_pair(std::string("destinations[1].office_number"), std::string("OFFICE_NUMBER")));
  send.mutable_destinations(1)->set_office_number("1371000025");
  send.mutable_destinations(1)->set_service_type("1");
  EXPECT_EQ(Violated(Call("SendCarePlan", send)).first, "destinations[1].service_type");
  send.clear_destinations();
  EXPECT_EQ(Violated(Call("SendCarePlan", send)),
            std::make_pair(std::string("destinations"), std::string("REQUIRED")));

  v1::ConvertCarePlanRequest convert;
  EXPECT_EQ(Violated(Call("ConvertCarePlan", convert)).first, "input");

  v1::ListSentRequest list;
  list.set_month("2026");
  EXPECT_EQ(Violated(Call("ListSent", list)),
            std::make_pair(std::string("month"), std::string("MONTH")));

  EXPECT_EQ(Violated(Call("FetchReceived", v1::FetchReceivedRequest())).first, "send_id");
  EXPECT_EQ(Violated(Call("AcknowledgeReceived", v1::AcknowledgeReceivedRequest())).first,
            "send_id");

  v1::SubmitCarePlanRequestNotificationRequest notify;
  notify.mutable_insurer()->set_value("13101");
  EXPECT_EQ(Violated(Call("SubmitCarePlanRequestNotification", notify)),
            std::make_pair(std::string("insurer.value"), std::string("INSURER_NUMBER")));
  notify.mutable_insurer()->set_value("131011");
  notify.mutable_insured()->set_value("0000100004");
  EXPECT_EQ(Violated(Call("SubmitCarePlanRequestNotification", notify)).first, "kind");
  notify.set_kind(v1::SubmitCarePlanRequestNotificationRequest::KIND_NEW);
  EXPECT_EQ(Violated(Call("SubmitCarePlanRequestNotification", notify)).first, "identity");
  notify.mutable_numbers()->mutable_birth_date()->set_year(1950);
  notify.mutable_numbers()->mutable_birth_date()->set_month(2);
  notify.mutable_numbers()->mutable_birth_date()->set_day(30);
  EXPECT_EQ(Violated(Call("SubmitCarePlanRequestNotification", notify)),
            std::make_pair(std::string("numbers.birth_date"), std::string("CALENDAR_DATE")));

  v1::ExportEvidenceRequest evidence;
  evidence.mutable_insurer()->set_value("131011");
  evidence.mutable_insured()->set_value("12");
  EXPECT_EQ(Violated(Call("ExportEvidence", evidence)),
            std::make_pair(std::string("insured.value"), std::string("INSURED_NUMBER")));
}

// A unit (the 第1表〜第3表 and 第6表/第7表 samples of one recipient) to office 1371000025, service
// type 11.
v1::SendCarePlanRequest OneUnit(const std::string& request_id) {
  v1::SendCarePlanRequest req;
  cp::testing::SampleOptions o;
  o.recipients = 1;
  for (K kind : {K::FILE_KIND_UPPLAN, K::FILE_KIND_UPSIKYU}) {
    v1::CsvFile* file = req.add_files();
    file->set_name(cp::FormatFileName(cp::testing::SampleName(kind, o)));
    file->set_content(cp::testing::SampleBytes(kind, o));
  }
  v1::Destination* to = req.add_destinations();
  to->set_office_number("1371000025");
  to->set_service_type("11");
  req.set_request_id(request_id);
  return req;
}

// The platform's answer to an accepted send (sent 2026-11-17, Japan time).
FakePlatform::Handler Accepted(const std::string& send_id) {
  return FakePlatform::Json(R"({"send_id":")" + send_id +
                            R"(","unit":"u1","sent_at":1794873600,"files":[]})");
}

// The ファイル連番 of the first file a POST to the platform names.
std::string SequenceOf(const platform::testing::PlatformRequest& post) {
  auto body = nlohmann::json::parse(post.body);
  auto name = cp::ParseFileName(body["files"][0]["name"].get<std::string>());
  return name.ok() ? name->sequence() : "";
}

TEST_F(CarePlanExchangeTest, AUnitThePlatformRefusesForItsOrderIsRenumberedUnderTheSameKey) {
  platform_.On("POST", kSends,
               FakePlatform::InTurn(
                   {FakePlatform::Json(R"({"error":{"code":"UNIT_ORDER","message":"later"}})"),
                    Accepted("s-1")}));
  auto sent = host_.CallUnary<v1::SendCarePlanResponse>(std::string(kService) + "SendCarePlan",
                                                        OneUnit("req-1"));
  ASSERT_TRUE(sent.ok()) << sent.status();
  ASSERT_EQ(sent->sends_size(), 1);
  EXPECT_EQ(sent->sends(0).send_id(), "s-1") << sent->sends(0).error_message();

  auto posts = platform_.Requests("POST", kSends);
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_GT(SequenceOf(posts[1]), SequenceOf(posts[0]));
  EXPECT_EQ(posts[0].idempotency_key, "req-1/1371000025/11");
  EXPECT_EQ(posts[1].idempotency_key, posts[0].idempotency_key);
}

TEST_F(CarePlanExchangeTest, ASendRetriedWithItsRequestIdPostsOnce) {
  platform_.On("POST", kSends, Accepted("s-1"));
  const std::string method = std::string(kService) + "SendCarePlan";
  auto first = host_.CallUnary<v1::SendCarePlanResponse>(method, OneUnit("req-2"));
  auto again = host_.CallUnary<v1::SendCarePlanResponse>(method, OneUnit("req-2"));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->sends_size(), 1);
  EXPECT_EQ(again->sends(0).send_id(), first->sends(0).send_id());
  EXPECT_EQ(platform_.Count("POST", kSends), 1);

  auto other = host_.CallUnary<v1::SendCarePlanResponse>(method, OneUnit("req-3"));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(platform_.Count("POST", kSends), 2) << "another request_id is another send";
}

TEST_F(CarePlanExchangeTest, ASendsEvidenceIsFoundByItsRecipientAndMonth) {
  platform_.On("POST", kSends, Accepted("s-1"));
  ASSERT_TRUE(host_
                  .CallUnary<v1::SendCarePlanResponse>(std::string(kService) + "SendCarePlan",
                                                       OneUnit("req-4"))
                  .ok());
  auto records = [&](const std::string& insured, const std::string& month) {
    v1::ExportEvidenceRequest req;
    req.mutable_insurer()->set_value("131011");
    req.mutable_insured()->set_value(insured);
    req.set_month(month);
    auto r =
        host_.CallUnary<v1::ExportEvidenceResponse>(std::string(kService) + "ExportEvidence", req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->records_size() : -1;
  };
  EXPECT_EQ(records("0000100004", ""), 1);
  EXPECT_EQ(records("0000100004", "202611"), 1);
  EXPECT_EQ(records("0000100004", "202612"), 0);
  EXPECT_EQ(records("0000100013", ""), 0) << "another recipient's evidence";
  for (const auto& [key, value] : host_.Store()) {
    EXPECT_EQ(key.find("0000100004"), std::string::npos) << "store keys never hold the number";
  }
}

}  // namespace
}  // namespace kaigo::plugins::careplan

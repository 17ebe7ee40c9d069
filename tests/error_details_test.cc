// Structured errors end to end: a plugin's google.rpc details (kaigo/sdk/error_details.h) reach a
// gRPC client as grpc-status-details-bin, from an in-process plugin and from an isolated one, with
// the status's own code and message, and trimmed to fit a trailer when a plugin sends too many
// (the longest list of violations cut, the other details kept).
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "kaigo/test/v1/probe.grpc.pb.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace t = kaigo::test::v1;

const std::string kOffice = Office("137100001");

// The parameter: whether the probe runs in its own process.
class ErrorDetailsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    std::string config =
        "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n  call_limits: {per_office: "
        "1}\n"
        "plugins:\n  - {name: probe, path: " +
        PluginDir() + "/probe.so" + (GetParam() ? ", isolation: process" : "") +
        "}\noffices:\n  - number: \"" + kOffice +
        "\"\n    concerns: [{service: kaigo.test.v1.ProbeService, plugin: probe}]\n"
        "store:\n  sqlite_path: state.db\nlog:\n  level: warn\n";
    auto engine = EngineProcess::Start(dir_.Write("engine.yaml", config));
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }

  // Calls `method` for the office under test and returns the status and its parsed details.
  template <typename Request, typename Response, typename Method>
  grpc::Status Call(Method method, const Request& request, google::rpc::Status* details) {
    auto stub = t::ProbeService::NewStub(InsecureChannel(engine_->target()));
    grpc::ClientContext context;
    context.AddMetadata("x-kaigo-office", kOffice);
    Response response;
    grpc::Status status = ((*stub).*method)(&context, request, &response);
    details->Clear();
    EXPECT_TRUE(details->ParseFromString(status.error_details()));
    return status;
  }

  template <typename T>
  static std::vector<T> Unpack(const google::rpc::Status& details) {
    std::vector<T> out;
    for (const auto& any : details.details()) {
      T one;
      if (any.Is<T>() && any.UnpackTo(&one)) out.push_back(one);
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<EngineProcess> engine_;
};

TEST_P(ErrorDetailsTest, AnInvalidFieldNamesTheFieldAndTheRule) {
  t::CountRequest request;
  request.set_count(-1);
  auto stub = t::ProbeService::NewStub(InsecureChannel(engine_->target()));
  grpc::ClientContext context;
  context.AddMetadata("x-kaigo-office", kOffice);
  auto reader = stub->Count(&context, request);
  t::CountResponse message;
  while (reader->Read(&message)) {
  }
  grpc::Status status = reader->Finish();
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  EXPECT_EQ(details.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(details.message(), status.error_message());
  auto bad = Unpack<google::rpc::BadRequest>(details);
  ASSERT_EQ(bad.size(), 1u);
  ASSERT_EQ(bad[0].field_violations_size(), 1);
  EXPECT_EQ(bad[0].field_violations(0).field(), "count");
  EXPECT_EQ(bad[0].field_violations(0).reason(), "COUNT_RANGE");
  EXPECT_EQ(bad[0].field_violations(0).localized_message().locale(), "ja-JP");
  EXPECT_EQ(bad[0].field_violations(0).localized_message().message(), "件数は0から100000までです");
}

TEST_P(ErrorDetailsTest, EveryKindOfDetailReachesTheClient) {
  t::RefuseRequest request;
  request.set_violations(3);
  google::rpc::Status details;
  grpc::Status status =
      Call<t::RefuseRequest, t::RefuseResponse>(&t::ProbeService::Stub::Refuse, request, &details);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(details.code(), grpc::StatusCode::FAILED_PRECONDITION);
  auto failures = Unpack<google::rpc::PreconditionFailure>(details);
  ASSERT_EQ(failures.size(), 1u);
  ASSERT_EQ(failures[0].violations_size(), 3);
  EXPECT_EQ(failures[0].violations(2).subject(), "row 3");
  auto infos = Unpack<google::rpc::ErrorInfo>(details);
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].reason(), "PROBE_REFUSED");
  EXPECT_EQ(infos[0].domain(), "kaigo-bridge");
  EXPECT_EQ(infos[0].metadata().at("tries_left"), "2");
  auto retries = Unpack<google::rpc::RetryInfo>(details);
  ASSERT_EQ(retries.size(), 1u);
  EXPECT_EQ(retries[0].retry_delay().seconds(), 3);
  auto staff = Unpack<google::rpc::LocalizedMessage>(details);
  ASSERT_EQ(staff.size(), 1u);
  EXPECT_EQ(staff[0].locale(), "ja-JP");
  EXPECT_EQ(staff[0].message(), "プローブが断りました");
}

TEST_P(ErrorDetailsTest, DetailsTooLargeForATrailerAreTrimmedAndSaySo) {
  t::RefuseRequest request;
  request.set_violations(5000);  // ~100 KiB of violations
  google::rpc::Status details;
  grpc::Status status =
      Call<t::RefuseRequest, t::RefuseResponse>(&t::ProbeService::Stub::Refuse, request, &details);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_LE(status.error_details().size(), 6u * 1024);
  auto infos = Unpack<google::rpc::ErrorInfo>(details);
  ASSERT_EQ(infos.size(), 2u);
  EXPECT_EQ(infos[0].reason(), "PROBE_REFUSED") << "the small details stay";
  EXPECT_EQ(infos.back().reason(), "DETAILS_TRIMMED");
  EXPECT_EQ(infos.back().metadata().at("dropped_details"), "0");
  // The list is cut, its first violations kept, and the client told how many it lacks.
  auto failures = Unpack<google::rpc::PreconditionFailure>(details);
  ASSERT_EQ(failures.size(), 1u);
  ASSERT_GT(failures[0].violations_size(), 10);
  EXPECT_EQ(failures[0].violations(0).subject(), "row 1");
  EXPECT_EQ(infos.back().metadata().at("dropped_violations"),
            std::to_string(5000 - failures[0].violations_size()));
  EXPECT_EQ(Unpack<google::rpc::LocalizedMessage>(details).size(), 1u);
}

TEST_P(ErrorDetailsTest, ARefusalToTryAgainLaterSaysWhen) {
  // The office's one call in flight (the configuration allows one) hangs until cancelled.
  auto stub = t::ProbeService::NewStub(InsecureChannel(engine_->target()));
  {
    grpc::ClientContext context;  // the plugin is up (an isolated one starts with the engine)
    context.AddMetadata("x-kaigo-office", kOffice);
    t::EchoResponse response;
    ASSERT_TRUE(stub->Echo(&context, t::EchoRequest(), &response).ok());
  }
  grpc::ClientContext hanging;
  hanging.AddMetadata("x-kaigo-office", kOffice);
  t::HangResponse hang_response;
  grpc::Status hang_status;
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  stub->async()->Hang(&hanging, new t::HangRequest(), &hang_response, [&](grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    hang_status = s;
    done = true;
    done_cv.notify_all();
  });
  grpc::Status status;
  for (int i = 0; i < 200; ++i) {  // until the hanging call has arrived
    grpc::ClientContext context;
    context.AddMetadata("x-kaigo-office", kOffice);
    t::EchoResponse response;
    status = stub->Echo(&context, t::EchoRequest(), &response);
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  hanging.TryCancel();
  std::unique_lock<std::mutex> lock(mu);
  done_cv.wait(lock, [&] { return done; });
  ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  auto retries = Unpack<google::rpc::RetryInfo>(details);
  ASSERT_EQ(retries.size(), 1u);
  EXPECT_GT(retries[0].retry_delay().seconds(), 0);
}

INSTANTIATE_TEST_SUITE_P(InProcessAndIsolated, ErrorDetailsTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? std::string("Isolated") : std::string("InProcess");
                         });

}  // namespace
}  // namespace kaigo::testing

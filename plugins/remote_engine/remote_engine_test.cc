// RemoteEngine on the SDK's fake host, without a second engine: its settings refused before any
// channel exists, and calls passed on to an in-process gRPC server on loopback that stands for
// the other engine — the request's bytes unread, the office, caller's roles, request id and a
// deadline in the metadata, the other side's status with its details and a stream's messages
// back, and the caller's cancellation passed on.
#include "remote_engine.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "kaigo/plugins/v1/remote_engine_config.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/fake_host.h"

namespace kaigo::plugins::remote {
namespace {

using kaigo::plugins::v1::RemoteEngineConfig;
using sdk::testing::FakeHost;

constexpr char kUnary[] = "/kaigo.v1.QualificationService/LookupByInsuredNumber";
constexpr char kStream[] = "/kaigo.v1.CertificationService/FetchDocument";

const kaigo_plugin_api* Api() {
  static const kaigo_plugin_api* const api = sdk::ExportPlugin(Define());
  return api;
}

// What the other engine saw of one call.
struct Seen {
  std::string method;
  std::string request;
  std::multimap<std::string, std::string> metadata;
  std::chrono::system_clock::time_point deadline;
  bool cancelled = false;
};

// The other engine: answers a unary call with "answer:" + the request, refuses "refuse" with
// FAILED_PRECONDITION and an ErrorInfo, streams three messages for a streaming method, and for
// "hold" streams one and waits for the caller to cancel.
class OtherEngine : public grpc::CallbackGenericService {
 public:
  OtherEngine() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterCallbackGenericService(this);
    server_ = builder.BuildAndStart();
  }
  ~OtherEngine() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }

  std::vector<Seen> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  bool WaitCancelled(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, timeout,
                             [&] { return !calls_.empty() && calls_.back().cancelled; });
  }

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new Reactor(this, ctx);
  }

 private:
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    Reactor(OtherEngine* engine, grpc::GenericCallbackServerContext* ctx)
        : engine_(engine), ctx_(ctx) {
      StartRead(&request_);
    }

    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
        return;
      }
      std::vector<grpc::Slice> slices;
      std::string request;
      (void)request_.Dump(&slices);
      for (const auto& s : slices)
        request.append(reinterpret_cast<const char*>(s.begin()), s.size());
      Seen seen{ctx_->method(), request, {}, ctx_->deadline(), false};
      for (const auto& [k, v] : ctx_->client_metadata()) {
        seen.metadata.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
      }
      {
        std::lock_guard<std::mutex> lock(engine_->mu_);
        index_ = engine_->calls_.size();
        engine_->calls_.push_back(seen);
      }
      if (request == "refuse") {
        google::rpc::Status details;
        details.set_code(static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
        details.set_message("refused there");
        google::rpc::ErrorInfo info;
        info.set_reason("REMOTE_REASON");
        info.set_domain("kaigo-bridge");
        details.add_details()->PackFrom(info);
        Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "refused there",
                            details.SerializeAsString()));
        return;
      }
      streaming_ = ctx_->method() == kStream;
      hold_ = request == "hold";
      to_write_ = streaming_ ? (hold_ ? 1 : 3) : 1;
      WriteNext("answer:" + request);
    }

    void OnWriteDone(bool ok) override {
      if (!ok || --to_write_ == 0) {
        if (!hold_) Finish(grpc::Status::OK);
        return;
      }
      WriteNext(absl::StrCat("message ", to_write_));
    }

    void OnCancel() override {
      {
        std::lock_guard<std::mutex> lock(engine_->mu_);
        engine_->calls_[index_].cancelled = true;
        engine_->changed_.notify_all();
      }
      if (hold_) Finish(grpc::Status::CANCELLED);  // the reactor ends only once finished
    }

    void OnDone() override { delete this; }

   private:
    void WriteNext(const std::string& bytes) {
      grpc::Slice slice(bytes.data(), bytes.size());
      response_ = grpc::ByteBuffer(&slice, 1);
      StartWrite(&response_);
    }

    OtherEngine* engine_;
    grpc::GenericCallbackServerContext* ctx_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
    size_t index_ = 0;
    bool streaming_ = false;
    bool hold_ = false;
    int to_write_ = 0;
  };

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Seen> calls_;
};

absl::Status LoadWith(FakeHost& host, const RemoteEngineConfig& config) {
  return host.Load(Api(), config.SerializeAsString());
}

TEST(RemoteEngineSettingsTest, RefusedBeforeAnyChannel) {
  RemoteEngineConfig config;
  FakeHost no_target;
  absl::Status s = LoadWith(no_target, config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("target:", 0), 0u) << s;

  config.set_target("127.evil.example:7443");  // a name, not a loopback address
  config.set_insecure_loopback(true);
  FakeHost named;
  s = LoadWith(named, config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("insecure_loopback:", 0), 0u) << s;

  config.set_insecure_loopback(false);
  FakeHost no_tls;
  s = LoadWith(no_tls, config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("key_secret"), std::string::npos) << s;

  config.set_ca_secret("ca");
  config.set_certificate_secret("cert");
  config.set_key_secret("key");
  FakeHost unbound;  // names secrets the office does not bind
  EXPECT_FALSE(LoadWith(unbound, config).ok());
}

class RemoteEngineTest : public ::testing::Test {
 protected:
  void Load(const std::string& remote_office = "") {
    RemoteEngineConfig config;
    config.set_target(other_.target());
    config.set_insecure_loopback(true);
    config.set_timeout_ms(5000);
    config.set_remote_office(remote_office);
    absl::Status loaded = LoadWith(host_, config);
    ASSERT_TRUE(loaded.ok()) << loaded;
  }

  static std::string Meta(const Seen& seen, const std::string& key) {
    auto it = seen.metadata.find(key);
    return it == seen.metadata.end() ? "<none>" : it->second;
  }

  OtherEngine other_;
  FakeHost host_{"1371000017"};
};

TEST_F(RemoteEngineTest, AUnaryCallIsPassedOnUnreadWithTheOfficeAndTheCaller) {
  Load();
  auto before = std::chrono::system_clock::now();
  sdk::testing::CallResult r =
      host_.Call(kUnary, "not a message", absl::Seconds(10), {"care_manager"});
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.response, "answer:not a message");
  auto calls = other_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, kUnary);
  EXPECT_EQ(calls[0].request, "not a message");
  EXPECT_EQ(Meta(calls[0], "x-kaigo-office"), "1371000017");
  EXPECT_EQ(Meta(calls[0], "x-kaigo-on-behalf-of"), "test");
  EXPECT_EQ(Meta(calls[0], "x-kaigo-on-behalf-of-roles"), "care_manager");
  EXPECT_EQ(Meta(calls[0], "x-request-id"), "test-request");
  // No deadline from the caller: the settings' timeout bounds the call there.
  EXPECT_LE(calls[0].deadline, before + std::chrono::milliseconds(5000) + std::chrono::seconds(1));
  EXPECT_GT(calls[0].deadline, before);
}

TEST_F(RemoteEngineTest, TheRemoteOfficeSettingNamesTheOfficeThere) {
  Load("1371000025");
  ASSERT_TRUE(host_.Call(kUnary, "x").status.ok());
  EXPECT_EQ(Meta(other_.calls().at(0), "x-kaigo-office"), "1371000025");
}

TEST_F(RemoteEngineTest, TheOtherEnginesStatusComesBackWithItsDetails) {
  Load();
  sdk::testing::CallResult r = host_.Call(kUnary, "refuse");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status.message(), "refused there");
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(sdk::FindDetail(r.status, &info)) << r.status;
  EXPECT_EQ(info.reason(), "REMOTE_REASON");
}

TEST_F(RemoteEngineTest, AStreamsMessagesComeBackInOrder) {
  Load();
  sdk::testing::CallResult r = host_.Call(kStream, "doc");
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.messages, (std::vector<std::string>{"answer:doc", "message 2", "message 1"}));
}

TEST_F(RemoteEngineTest, TheCallersCancellationIsPassedOn) {
  Load();
  auto pending = host_.Start(kStream, "hold");
  ASSERT_TRUE(pending->WaitForMessages(1, absl::Seconds(10)));
  pending->Cancel();
  EXPECT_TRUE(other_.WaitCancelled(std::chrono::seconds(10)));
  EXPECT_TRUE(pending->WaitFinished(absl::Seconds(10)));
}

}  // namespace
}  // namespace kaigo::plugins::remote

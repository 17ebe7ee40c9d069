// The engine binary with real plugins over real gRPC on loopback: routing by office, the OTP
// concern end to end, a plugin calling another concern through the host, streaming and
// cancellation, refusals with their codes, health, reflection, metrics, admin and reload.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "kaigo/test/v1/probe.grpc.pb.h"
#include "kaigo/v1/engine.grpc.pb.h"
#include "kaigo/v1/otp.grpc.pb.h"
#include "kaigo/version.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace t = kaigo::test::v1;
namespace v1 = kaigo::v1;

const std::string kOfficeA = Office("137100001");  // otp_relay + probe
const std::string kOfficeB = Office("137100002");  // otp_relay only
const std::string kOfficeC = Office("137100003");  // added by a reload

std::string Config(const std::string& store, bool with_office_c) {
  std::string plugins = PluginDir();
  std::string config = R"(server:
  listen: 127.0.0.1:0
  insecure_loopback: true
  metrics_listen: 127.0.0.1:0
  admin_socket: admin.sock
plugins:
  - name: otp_relay
    path: )" + plugins +
                       R"(/otp_relay.so
  - name: probe
    path: )" + plugins +
                       R"(/probe.so
offices:
  - number: ")" + kOfficeA +
                       R"("
    name: 居宅介護支援 A
    service_types: ["43"]
    concerns:
      - service: kaigo.v1.OtpService
        plugin: otp_relay
        settings:
          default_timeout_seconds: 30
      - service: kaigo.test.v1.ProbeService
        plugin: probe
  - number: ")" + kOfficeB +
                       R"("
    name: 訪問介護 B
    concerns:
      - {service: kaigo.v1.OtpService, plugin: otp_relay}
)";
  if (with_office_c) {
    config += "  - number: \"" + kOfficeC +
              "\"\n    concerns:\n"
              "      - {service: kaigo.v1.OtpService, plugin: otp_relay}\n";
  }
  config += "store:\n  sqlite_path: " + store + "\nlog:\n  level: info\n  access_log: true\n";
  return config;
}

class EngineE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    config_path_ = dir_->Write("engine.yaml", Config(dir_->path() + "/state.db", false));
    auto engine = EngineProcess::Start(config_path_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = engine->release();
    channel_ = InsecureChannel(engine_->target());
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete dir_;
    channel_.reset();
  }

  static std::string ProvideFirstPending(const std::string& office) {
    auto otp = v1::OtpService::NewStub(channel_);
    for (int i = 0; i < 200; ++i) {
      v1::ListPendingResponse list;
      auto status = otp->ListPending(Context(office).get(), {}, &list);
      if (status.ok() && list.pending_size() > 0) {
        v1::ProvideOtpRequest provide;
        provide.set_otp_id(list.pending(0).otp_id());
        provide.set_code("728341");
        v1::ProvideOtpResponse ignored;
        auto provided = otp->ProvideOtp(Context(office).get(), provide, &ignored);
        EXPECT_TRUE(provided.ok()) << provided.error_message();
        return provide.code();
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "no pending OTP request appeared for " << office;
    return "";
  }

  static std::shared_ptr<grpc::Channel> AdminChannel() {
    return InsecureChannel("unix:" + dir_->path() + "/admin.sock");
  }

  static TempDir* dir_;
  static std::string config_path_;
  static EngineProcess* engine_;
  static std::shared_ptr<grpc::Channel> channel_;
};

TempDir* EngineE2eTest::dir_ = nullptr;
std::string EngineE2eTest::config_path_;
EngineProcess* EngineE2eTest::engine_ = nullptr;
std::shared_ptr<grpc::Channel> EngineE2eTest::channel_;

TEST_F(EngineE2eTest, CareSystemsDoNotAskForOtpsThemselves) {
  v1::RequestOtpRequest request;
  request.set_purpose(v1::OTP_PURPOSE_ECLAIM_REGISTRATION);
  v1::RequestOtpResponse response;
  auto status =
      v1::OtpService::NewStub(channel_)->RequestOtp(Context(kOfficeB).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            "/kaigo.v1.OtpService/RequestOtp is called only by other concerns of the office, not "
            "by care systems");
}

// The operator's answer reaches the concern that asked, through the engine: the probe stands for
// the portal registration, which asks OtpService/RequestOtp through the host.
TEST_F(EngineE2eTest, PluginAsksAnotherConcernThroughTheHost) {
  auto probe = t::ProbeService::NewStub(channel_);
  auto asking = std::async(std::launch::async, [&] {
    t::AskOtpResponse response;
    auto status = probe->AskOtp(Context(kOfficeA, absl::Seconds(20)).get(), {}, &response);
    return std::make_pair(status, response);
  });
  std::string code = ProvideFirstPending(kOfficeA);
  auto [status, response] = asking.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.code(), code);
}

TEST_F(EngineE2eTest, APluginCallsOnlyWhatItsManifestDeclares) {
  auto probe = t::ProbeService::NewStub(channel_);
  t::AskOtpRequest ask;
  ask.set_method("/kaigo.v1.OtpService/ListPending");
  t::AskOtpResponse response;
  auto status = probe->AskOtp(Context(kOfficeA).get(), ask, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            "plugin probe did not declare in its manifest that it calls "
            "/kaigo.v1.OtpService/ListPending");
}

TEST_F(EngineE2eTest, UnaryCarriesOfficeCallerAndRoles) {
  auto probe = t::ProbeService::NewStub(channel_);
  t::EchoRequest request;
  request.set_payload(std::string("\0\x01binary\xff", 9));
  t::EchoResponse response;
  auto status = probe->Echo(Context(kOfficeA).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.payload(), request.payload());
  EXPECT_EQ(response.office(), kOfficeA);
  EXPECT_EQ(response.caller(), "anonymous");
  // No callers configured: every office role the method allows, never engine_admin.
  EXPECT_EQ(response.roles_size(), 4);
  for (const auto& role : response.roles()) EXPECT_NE(role, "engine_admin");

  auto context = Context(kOfficeA);
  context->AddMetadata("x-kaigo-role", "medical");
  ASSERT_TRUE(probe->Echo(context.get(), request, &response).ok());
  ASSERT_EQ(response.roles_size(), 1);
  EXPECT_EQ(response.roles(0), "medical");
  context = Context(kOfficeA);
  context->AddMetadata("x-kaigo-role", "engine_admin");
  status = probe->Echo(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            "metadata x-kaigo-role: caller 'anonymous' is not granted the role 'engine_admin'");
}

TEST_F(EngineE2eTest, ServerStreamingDeliversEveryMessageInOrder) {
  auto probe = t::ProbeService::NewStub(channel_);
  t::CountRequest request;
  request.set_count(500);
  auto context = Context(kOfficeA);
  auto reader = probe->Count(context.get(), request);
  t::CountResponse message;
  int expected = 0;
  while (reader->Read(&message)) {
    EXPECT_EQ(message.index(), expected);
    ++expected;
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(expected, 500);
}

TEST_F(EngineE2eTest, ClientCancellationReachesThePlugin) {
  auto probe = t::ProbeService::NewStub(channel_);
  auto count = [&] {
    t::CancellationsResponse r;
    probe->Cancellations(Context(kOfficeA).get(), {}, &r);
    return r.cancelled();
  };
  int64_t before = count();
  t::HangResponse ignored;
  auto status = probe->Hang(Context(kOfficeA, absl::Milliseconds(300)).get(), {}, &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // An explicit cancel too.
  auto context = Context(kOfficeA);
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(200));
    context->TryCancel();
  });
  status = probe->Hang(context.get(), {}, &ignored);
  canceller.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  int64_t after = before;
  for (int i = 0; i < 100 && after < before + 2; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    after = count();
  }
  EXPECT_EQ(after, before + 2) << "the plugin saw each cancellation once";
}

TEST_F(EngineE2eTest, RefusalsCarryTheFittingCode) {
  auto probe = t::ProbeService::NewStub(channel_);
  t::EchoResponse ignored;
  auto code = [&](const std::string& office) {
    return probe->Echo(Context(office).get(), {}, &ignored);
  };
  auto s = code("");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(s.error_message().find("x-kaigo-office"), std::string::npos);
  s = code("1371000018");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("check digit"), std::string::npos) << s.error_message();
  EXPECT_EQ(code(Office("139999999")).error_code(), grpc::StatusCode::NOT_FOUND);
  s = code(kOfficeB);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s.error_message().find("kaigo.test.v1.ProbeService"), std::string::npos);

  grpc::GenericStub generic(channel_);
  auto context = Context(kOfficeA);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::Status status;
  std::promise<void> done;
  generic.UnaryCall(context.get(), "/kaigo.v1.Nowhere/Nothing", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status st) {
                      status = st;
                      done.set_value();
                    });
  done.get_future().wait();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(EngineE2eTest, MalformedRequestBytesAreInvalidArgument) {
  grpc::GenericStub generic(channel_);
  auto context = Context(kOfficeA);
  grpc::Slice garbage(std::string("\xff\xff\xff\x7f", 4));
  grpc::ByteBuffer request(&garbage, 1), response;
  std::promise<grpc::Status> done;
  generic.UnaryCall(context.get(), "/kaigo.test.v1.ProbeService/Echo", grpc::StubOptions(),
                    &request, &response, [&](grpc::Status st) { done.set_value(st); });
  auto status = done.get_future().get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("kaigo.test.v1.EchoRequest"), std::string::npos);
}

TEST_F(EngineE2eTest, HealthAndMetrics) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckResponse response;
  auto status = health->Check(Context("").get(), {}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto probe = t::ProbeService::NewStub(channel_);
  t::EchoResponse ignored;
  ASSERT_TRUE(probe->Echo(Context(kOfficeA).get(), {}, &ignored).ok());
  auto metrics = HttpGet(engine_->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_NE(metrics->find("kaigo_calls_total{plugin=\"probe\",method=\"/kaigo.test.v1.ProbeService/"
                          "Echo\",code=\"OK\"}"),
            std::string::npos)
      << *metrics;
  EXPECT_NE(metrics->find("kaigo_call_duration_seconds_bucket{plugin=\"probe\""),
            std::string::npos);
  EXPECT_NE(metrics->find("kaigo_calls_refused_total"), std::string::npos);
  EXPECT_NE(engine_->Log().find("\"request_id\""), std::string::npos) << "JSON access log";
}

template <class Stub, class Request, class Response>
Response Reflect(Stub& stub, const Request& request) {
  auto context = Context("");
  auto stream = stub->ServerReflectionInfo(context.get());
  EXPECT_TRUE(stream->Write(request));
  Response response;
  EXPECT_TRUE(stream->Read(&response));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  return response;
}

TEST_F(EngineE2eTest, ReflectionShowsPluginServicesInBothVersions) {
  auto v1stub = grpc::reflection::v1::ServerReflection::NewStub(channel_);
  grpc::reflection::v1::ServerReflectionRequest list;
  list.set_list_services("");
  auto services = Reflect<decltype(v1stub), grpc::reflection::v1::ServerReflectionRequest,
                          grpc::reflection::v1::ServerReflectionResponse>(v1stub, list);
  std::set<std::string> names;
  for (const auto& s : services.list_services_response().service()) names.insert(s.name());
  for (const char* expected : {"kaigo.test.v1.ProbeService", "kaigo.v1.OtpService",
                               "kaigo.v1.EngineAdminService", "grpc.health.v1.Health"}) {
    EXPECT_EQ(names.count(expected), 1u) << expected;
  }

  auto alpha = grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
  grpc::reflection::v1alpha::ServerReflectionRequest symbol;
  symbol.set_file_containing_symbol("kaigo.test.v1.ProbeService");
  auto files = Reflect<decltype(alpha), grpc::reflection::v1alpha::ServerReflectionRequest,
                       grpc::reflection::v1alpha::ServerReflectionResponse>(alpha, symbol);
  ASSERT_GT(files.file_descriptor_response().file_descriptor_proto_size(), 0);
  google::protobuf::FileDescriptorProto file;
  file.ParseFromString(files.file_descriptor_response().file_descriptor_proto(0));
  EXPECT_EQ(file.name(), "kaigo/test/v1/probe.proto");

  symbol.set_file_containing_symbol("no.such.Symbol");
  auto missing = Reflect<decltype(alpha), grpc::reflection::v1alpha::ServerReflectionRequest,
                         grpc::reflection::v1alpha::ServerReflectionResponse>(alpha, symbol);
  EXPECT_EQ(missing.error_response().error_code(), grpc::StatusCode::NOT_FOUND);
}

// Last: it changes the configuration the other tests share (only by adding an office).
TEST_F(EngineE2eTest, AdminIsOnlyOnTheOwnerOnlySocket) {
  v1::ListPluginsResponse plugins;
  for (auto* call : {"ListPlugins", "ReloadConfig", "SwapPlugin"}) {
    grpc::Status status;
    auto stub = v1::EngineAdminService::NewStub(channel_);
    if (std::string(call) == "ListPlugins") {
      status = stub->ListPlugins(Context("").get(), {}, &plugins);
    } else if (std::string(call) == "ReloadConfig") {
      v1::ReloadConfigResponse reload;
      status = stub->ReloadConfig(Context("").get(), {}, &reload);
    } else {
      v1::SwapPluginRequest swap;
      swap.set_name("probe");
      swap.set_path("/dev/shm/x/q2.so");
      v1::SwapPluginResponse swapped;
      status = stub->SwapPlugin(Context("").get(), swap, &swapped);
    }
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << call;
    EXPECT_EQ(status.error_message(),
              "an engine without callers serves no admin method on its API port; use the admin "
              "socket (server.admin_socket, `kaigo-bridge admin …`)")
        << call;
  }
  struct stat socket;
  ASSERT_EQ(stat((dir_->path() + "/admin.sock").c_str(), &socket), 0);
  EXPECT_TRUE(S_ISSOCK(socket.st_mode));
  EXPECT_EQ(socket.st_mode & 0777, 0600u);
  EXPECT_EQ(socket.st_uid, getuid());
  CommandResult listed =
      RunCommand(EngineBinary() + " admin --config " + config_path_ + " list-plugins");
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find("probe "), std::string::npos) << listed.output;
}

TEST_F(EngineE2eTest, ZReloadAppliesAGoodConfigAndRefusesABadOne) {
  auto admin = v1::EngineAdminService::NewStub(AdminChannel());
  auto offices = [&] {
    v1::ListOfficesResponse r;
    EXPECT_TRUE(admin->ListOffices(Context("").get(), {}, &r).ok());
    return r.offices_size();
  };
  ASSERT_EQ(offices(), 2);
  // One office per page: both, in number order, and the last page says so.
  v1::ListOfficesRequest paged;
  paged.set_page_size(1);
  std::vector<std::string> numbers;
  for (int page = 0; page < 3; ++page) {
    v1::ListOfficesResponse one;
    ASSERT_TRUE(admin->ListOffices(Context("").get(), paged, &one).ok());
    ASSERT_EQ(one.offices_size(), 1);
    numbers.push_back(one.offices(0).number());
    if (one.next_page_token().empty()) break;
    paged.set_page_token(one.next_page_token());
  }
  ASSERT_EQ(numbers.size(), 2u);
  EXPECT_LT(numbers[0], numbers[1]);
  CommandResult listed =
      RunCommand(EngineBinary() + " admin --config " + config_path_ + " list-offices");
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find(numbers[1]), std::string::npos) << listed.output;
  v1::ListPluginsResponse plugins;
  ASSERT_TRUE(admin->ListPlugins(Context("").get(), {}, &plugins).ok());
  EXPECT_EQ(plugins.plugins_size(), 2);
  for (const auto& p : plugins.plugins()) {  // both built with this SDK
    EXPECT_EQ(p.sdk_version(), KAIGO_SDK_VERSION) << p.name();
    EXPECT_EQ(p.api_release(), KAIGO_API_RELEASE) << p.name();
    EXPECT_NE(p.maturity(), v1::PLUGIN_MATURITY_UNSPECIFIED) << p.name();
  }

  dir_->Write("engine.yaml", Config(dir_->path() + "/state.db", true));
  engine_->Signal(SIGHUP);
  for (int i = 0; i < 200 && offices() != 3; ++i) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_EQ(offices(), 3);
  auto otp = v1::OtpService::NewStub(channel_);
  v1::ListPendingResponse pending;
  EXPECT_TRUE(otp->ListPending(Context(kOfficeC).get(), {}, &pending).ok());

  dir_->Write("engine.yaml", Config(dir_->path() + "/state.db", true) + "unknown_section: 1\n");
  v1::ReloadConfigResponse reload;
  auto status = admin->ReloadConfig(Context("").get(), {}, &reload);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("engine.yaml:"), std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("unknown_section: unknown key"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(offices(), 3) << "the running configuration stays";
  EXPECT_TRUE(otp->ListPending(Context(kOfficeC).get(), {}, &pending).ok());
}

}  // namespace
}  // namespace kaigo::testing

// The Connect protocol on server.http_listen, called with the real curl and with the official
// Connect client for TypeScript/JavaScript (@connectrpc/connect-node; tests/connect/): unary JSON
// and binary calls, a server stream, errors with their google.rpc details, the browser defences
// (no GET, Origin, Host), and mutual TLS with the gRPC listener's certificates and callers.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "kaigo/test/v1/probe.pb.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace t = kaigo::test::v1;
using nlohmann::json;

const std::string kOffice = Office("137100001");
const std::string kOtherOffice = Office("137100002");

struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string headers;
};

// Runs curl with `args` and returns what it answered (status 0: curl itself failed).
HttpAnswer Curl(const TempDir& dir, const std::string& args) {
  std::string body = dir.path() + "/body", headers = dir.path() + "/headers";
  unlink(body.c_str());
  unlink(headers.c_str());
  CommandResult r = RunCommand("curl -sS --max-time 20 -o " + body + " -D " + headers +
                               " -w '%{http_code}' " + args);
  HttpAnswer answer;
  if (r.exit_code == 0) answer.status = std::stoi(r.output.substr(r.output.size() - 3));
  answer.body = ReadFile(body);
  answer.headers = ReadFile(headers);
  return answer;
}

// Connect's streaming envelopes: (flags, message) in order.
std::vector<std::pair<int, std::string>> Envelopes(const std::string& body) {
  std::vector<std::pair<int, std::string>> out;
  size_t at = 0;
  while (at + 5 <= body.size()) {
    auto b = reinterpret_cast<const unsigned char*>(body.data() + at);
    size_t n = (size_t{b[1]} << 24) | (size_t{b[2]} << 16) | (size_t{b[3]} << 8) | b[4];
    out.emplace_back(b[0], body.substr(at + 5, n));
    at += 5 + n;
  }
  EXPECT_EQ(at, body.size()) << "a truncated envelope";
  return out;
}

// The binary detail of `type` among a Connect error's details, parsed.
template <typename T>
bool FindDetail(const json& error, const std::string& type, T* detail) {
  for (const auto& d : error.value("details", json::array())) {
    if (d.value("type", "") != type) continue;
    std::string bytes;
    // Connect writes base64 without padding; absl accepts both.
    if (!absl::Base64Unescape(d.value("value", ""), &bytes)) return false;
    return detail->ParseFromString(bytes);
  }
  return false;
}

class ConnectTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::string config =
        "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n"
        "  http_listen: 127.0.0.1:0\n  metrics_listen: 127.0.0.1:0\n"
        "  http_allowed_hosts: [kaigo.internal]\n"
        "  http_allowed_origins: [\"http://care.example.jp:8080\"]\n"
        "plugins:\n  - {name: probe, path: " +
        PluginDir() + "/probe.so}\noffices:\n  - number: \"" + kOffice +
        "\"\n    concerns: [{service: kaigo.test.v1.ProbeService, plugin: probe}]\n"
        "store:\n  sqlite_path: state.db\nlog:\n  level: info\n  access_log: true\n";
    auto engine = EngineProcess::Start(dir_->Write("engine.yaml", config));
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = engine->release();
    ASSERT_GT(engine_->http_port(), 0);
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete dir_;
  }

  static std::string Url(const std::string& method) {
    return absl::StrCat("http://127.0.0.1:", engine_->http_port(), "/kaigo.test.v1.ProbeService/",
                        method);
  }
  // A unary JSON call as a care system makes it with curl, for `office` ("": no office header).
  HttpAnswer CallJson(const std::string& method, const std::string& body,
                      const std::string& extra = "", const std::string& office = kOffice) {
    std::string office_header = office.empty() ? "" : "-H 'x-kaigo-office: " + office + "' ";
    return Curl(scratch_, "-H 'Content-Type: application/json' -H 'Connect-Protocol-Version: 1' " +
                              office_header + extra + " --data-binary '" + body + "' " +
                              Url(method));
  }

  // A server-streaming call: `message` in Connect's envelope (flags 0, 4-byte length).
  HttpAnswer CallStream(const std::string& method, const std::string& content_type,
                        const std::string& message) {
    std::string request(1, '\0');
    for (int shift : {24, 16, 8, 0}) request += static_cast<char>(message.size() >> shift);
    request += message;
    std::string file = scratch_.Write("request.env", request);
    return Curl(scratch_, "-H 'Content-Type: " + content_type + "' -H 'x-kaigo-office: " + kOffice +
                              "' --data-binary @" + file + " " + Url(method));
  }

  static TempDir* dir_;
  static EngineProcess* engine_;
  TempDir scratch_;
};

TempDir* ConnectTest::dir_ = nullptr;
EngineProcess* ConnectTest::engine_ = nullptr;

TEST_F(ConnectTest, AUnaryJsonCallAnswersJson) {
  HttpAnswer a = CallJson("Echo", R"({"payload":"aGVsbG8="})");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_NE(a.headers.find("application/json"), std::string::npos) << a.headers;
  json answer = json::parse(a.body);
  EXPECT_EQ(answer["payload"], "aGVsbG8=");
  EXPECT_EQ(answer["office"], kOffice);
  EXPECT_EQ(answer["caller"], "anonymous");
}

TEST_F(ConnectTest, AUnaryBinaryCallAnswersBinary) {
  t::EchoRequest request;
  request.set_payload(std::string("\0\1binary", 8));
  std::string file = scratch_.Write("request.bin", request.SerializeAsString());
  HttpAnswer a = Curl(scratch_,
                      "-H 'Content-Type: application/proto' "
                      "-H 'Connect-Protocol-Version: 1' -H 'x-kaigo-office: " +
                          kOffice + "' --data-binary @" + file + " " + Url("Echo"));
  ASSERT_EQ(a.status, 200) << a.body;
  t::EchoResponse response;
  ASSERT_TRUE(response.ParseFromString(a.body));
  EXPECT_EQ(response.payload(), request.payload());
  EXPECT_EQ(response.office(), kOffice);
}

TEST_F(ConnectTest, AnErrorCarriesItsDetailsInConnectsJsonForm) {
  HttpAnswer a = CallJson("Refuse", R"({"violations":2})");
  ASSERT_EQ(a.status, 400) << a.body;  // failed_precondition
  json error = json::parse(a.body);
  EXPECT_EQ(error["code"], "failed_precondition");
  EXPECT_FALSE(error.value("message", "").empty());
  google::rpc::PreconditionFailure failure;
  ASSERT_TRUE(FindDetail(error, "google.rpc.PreconditionFailure", &failure)) << a.body;
  ASSERT_EQ(failure.violations_size(), 2);
  EXPECT_EQ(failure.violations(1).subject(), "row 2");
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(FindDetail(error, "google.rpc.ErrorInfo", &info));
  EXPECT_EQ(info.reason(), "PROBE_REFUSED");
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(FindDetail(error, "google.rpc.RetryInfo", &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 3);
  google::rpc::LocalizedMessage staff;
  ASSERT_TRUE(FindDetail(error, "google.rpc.LocalizedMessage", &staff));
  EXPECT_EQ(staff.locale(), "ja-JP");
  EXPECT_EQ(staff.message(), "プローブが断りました");
  // The same detail as JSON, for people reading the answer.
  bool debug = false;
  for (const auto& d : error["details"]) {
    if (d["type"] == "google.rpc.ErrorInfo") debug = d["debug"]["reason"] == "PROBE_REFUSED";
  }
  EXPECT_TRUE(debug) << a.body;
}

TEST_F(ConnectTest, AServerStreamSendsEnvelopesAndAnEndOfStream) {
  HttpAnswer a = CallStream("Count", "application/connect+json", R"({"count":3})");
  ASSERT_EQ(a.status, 200) << a.body;
  auto envelopes = Envelopes(a.body);
  ASSERT_EQ(envelopes.size(), 4u) << a.body;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(envelopes[i].first, 0);
    EXPECT_EQ(json::parse(envelopes[i].second).value("index", 0), i);
  }
  EXPECT_EQ(envelopes[3].first, 2);
  EXPECT_FALSE(json::parse(envelopes[3].second).contains("error")) << envelopes[3].second;
}

TEST_F(ConnectTest, AStreamsErrorEndsItWithItsDetails) {
  t::CountRequest count;
  count.set_count(-1);
  HttpAnswer a = CallStream("Count", "application/connect+proto", count.SerializeAsString());
  ASSERT_EQ(a.status, 200) << a.body;
  auto envelopes = Envelopes(a.body);
  ASSERT_EQ(envelopes.size(), 1u) << a.body;
  EXPECT_EQ(envelopes[0].first, 2);
  json end = json::parse(envelopes[0].second);
  EXPECT_EQ(end["error"]["code"], "invalid_argument");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(FindDetail(end["error"], "google.rpc.BadRequest", &bad)) << envelopes[0].second;
  EXPECT_EQ(bad.field_violations(0).field(), "count");
}

TEST_F(ConnectTest, TheEnginesRefusalsAreConnectErrors) {
  HttpAnswer none = CallJson("Echo", "{}", "", "");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(json::parse(none.body)["code"], "unauthenticated");
  HttpAnswer other = CallJson("Echo", "{}", "", kOtherOffice);
  EXPECT_EQ(other.status, 404) << other.body;
  EXPECT_EQ(json::parse(other.body)["code"], "not_found");
  HttpAnswer bad_json = CallJson("Echo", R"({"no_such_field":1})");
  EXPECT_EQ(bad_json.status, 400) << bad_json.body;
  EXPECT_EQ(json::parse(bad_json.body)["code"], "invalid_argument");
  HttpAnswer unknown = CallJson("NoSuchMethod", "{}");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(json::parse(unknown.body)["code"], "unimplemented");
  // Every call above went through the engine's admission, metrics and access log.
  auto metrics = HttpGet(engine_->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->find("/kaigo.test.v1.ProbeService/Echo"), std::string::npos);
  EXPECT_NE(engine_->Log().find("\"method\":\"/kaigo.test.v1.ProbeService/Refuse\""),
            std::string::npos);
}

TEST_F(ConnectTest, BrowsersCannotDriveItFromAnotherSite) {
  // No GET: a link or an <img> cannot call a method.
  HttpAnswer get = Curl(scratch_, "-H 'x-kaigo-office: " + kOffice + "' '" + Url("Echo") +
                                      "?encoding=json&message=%7B%7D&connect=v1'");
  EXPECT_EQ(get.status, 405) << get.body;
  // A cross-site form can send neither Connect-Protocol-Version nor a JSON content type.
  HttpAnswer form =
      Curl(scratch_, "-H 'x-kaigo-office: " + kOffice +
                         "' -H 'Content-Type: application/json' --data-binary '{}' " + Url("Echo"));
  EXPECT_EQ(form.status, 400) << form.body;
  HttpAnswer plain =
      Curl(scratch_, "-H 'Connect-Protocol-Version: 1' -H 'x-kaigo-office: " + kOffice +
                         "' -H 'Content-Type: text/plain' -d '{}' " + Url("Echo"));
  EXPECT_EQ(plain.status, 415) << plain.body;
  // A page of another origin.
  HttpAnswer cross = CallJson("Echo", "{}", "-H 'Origin: https://evil.example'");
  EXPECT_EQ(cross.status, 403) << cross.body;
  EXPECT_EQ(json::parse(cross.body)["code"], "permission_denied");
  // A name that resolves to 127.0.0.1 (DNS rebinding).
  HttpAnswer rebound = CallJson(
      "Echo", "{}", "-H 'Host: evil.example:" + std::to_string(engine_->http_port()) + "'");
  EXPECT_EQ(rebound.status, 403) << rebound.body;
  // What the configuration allows.
  HttpAnswer named = CallJson("Echo", "{}", "-H 'Host: kaigo.internal'");
  EXPECT_EQ(named.status, 200) << named.body;
  HttpAnswer listed = CallJson("Echo", "{}", "-H 'Origin: http://care.example.jp:8080'");
  EXPECT_EQ(listed.status, 200) << listed.body;
  EXPECT_NE(listed.headers.find("http://care.example.jp:8080"), std::string::npos);
}

TEST_F(ConnectTest, ATimeoutEndsTheCallWithDeadlineExceeded) {
  HttpAnswer a = CallJson("Hang", "{}", "-H 'Connect-Timeout-Ms: 200'");
  EXPECT_EQ(a.status, 504) << a.body;
  EXPECT_EQ(json::parse(a.body)["code"], "deadline_exceeded");
}

TEST_F(ConnectTest, TheOfficialConnectClientForNodeCallsIt) {
  std::string node_dir = SourceDir() + "/tests/connect";
  std::string gen = BuildDir() + "/tests/connect/gen";
  ASSERT_EQ(access((node_dir + "/node_modules/@connectrpc/connect-node").c_str(), F_OK), 0)
      << "run scripts/install-deps.sh (npm ci in tests/connect)";
  ASSERT_EQ(access((gen + "/kaigo/test/v1/probe_pb.js").c_str(), F_OK), 0)
      << "the build generates the client's messages with buf";
  CommandResult r = RunCommand(absl::StrCat(
      "cd ", node_dir, " && KAIGO_CONNECT_PORT=", engine_->http_port(), " KAIGO_OFFICE=", kOffice,
      " KAIGO_CONNECT_GEN=", gen, " node --test connect_client_test.mjs"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// The HTTP listener's own bounds: connections open at once, and request bodies held at once
// against server.max_memory_bytes (checked from the declared length, before a body is read).
TEST(ConnectLimitsTest, ConnectionsAndHeldBodiesAreBounded) {
  TempDir dir;
  std::string config =
      "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n"
      "  http_listen: 127.0.0.1:0\n  http_max_connections: 2\n"
      "  max_memory_bytes: 67108864\n  max_message_bytes: 134217728\n"
      "plugins:\n  - {name: probe, path: " +
      PluginDir() + "/probe.so}\noffices:\n  - number: \"" + kOffice +
      "\"\n    concerns: [{service: kaigo.test.v1.ProbeService, plugin: probe}]\n"
      "store:\n  sqlite_path: state.db\n";
  auto engine = EngineProcess::Start(dir.Write("engine.yaml", config));
  ASSERT_TRUE(engine.ok()) << engine.status();
  const int port = (*engine)->http_port();

  int first = ConnectLoopback(port), second = ConnectLoopback(port);
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  int third = ConnectLoopback(port);  // accepted by the kernel, closed by the engine at once
  ASSERT_GE(third, 0);
  EXPECT_EQ(ReadUntilClosed(third), "");
  close(third);

  // A body larger than the budget is refused from its header, on a connection of the two.
  std::string head =
      "POST /kaigo.test.v1.ProbeService/Echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nx-kaigo-office: " +
      kOffice + "\r\nContent-Length: 80000000\r\n\r\n";
  ASSERT_EQ(send(first, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  std::string refused = ReadUntilClosed(first);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("resource_exhausted"), std::string::npos) << refused;
  EXPECT_NE(refused.find("server.max_memory_bytes"), std::string::npos) << refused;
  close(first);
  close(second);

  // With the connections closed, a call gets through again.
  HttpAnswer echo;
  for (int i = 0; i < 50 && echo.status != 200; ++i) {
    echo = Curl(dir,
                "-H 'Content-Type: application/json' -H 'Connect-Protocol-Version: 1' "
                "-H 'x-kaigo-office: " +
                    kOffice + "' --data-binary '{}' http://127.0.0.1:" + std::to_string(port) +
                    "/kaigo.test.v1.ProbeService/Echo");
    if (echo.status != 200) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(echo.status, 200) << echo.body;
}

TEST(ConnectConfigTest, CheckConfigNamesTheHttpSettingsMistakes) {
  TempDir dir;
  std::string config =
      "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n  http_listen: 0.0.0.0:8080\n"
      "  http_allowed_hosts: [\"bad host\"]\n  http_allowed_origins: [care.example.jp]\n"
      "plugins:\n  - {name: probe, path: " +
      PluginDir() + "/probe.so}\noffices:\n  - number: \"" + kOffice +
      "\"\n    concerns: [{service: kaigo.test.v1.ProbeService, plugin: probe}]\n"
      "store:\n  sqlite_path: state.db\n";
  CommandResult r =
      RunCommand(EngineBinary() + " check-config " + dir.Write("engine.yaml", config));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("engine.yaml:4:16: server.http_listen: off loopback"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("server.http_allowed_hosts[0]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("server.http_allowed_origins[0]"), std::string::npos) << r.output;
}

// The same listener with TLS and client certificates: the caller is the certificate's, as on gRPC.
TEST(ConnectTlsTest, ClientCertificatesNameTheCaller) {
  TempDir dir;
  ASSERT_TRUE(MakeTestCertificates(dir.path(), {"care-system-a", "unlisted"}).ok());
  std::string config =
      "server:\n  listen: 127.0.0.1:0\n  http_listen: 127.0.0.1:0\n  tls:\n"
      "    cert_file: server.crt\n    key_file: server.key\n    client_ca_file: ca.crt\n"
      "    require_client_certificate: true\n"
      "plugins:\n  - {name: probe, path: " +
      PluginDir() + "/probe.so}\noffices:\n  - number: \"" + kOffice +
      "\"\n    concerns: [{service: kaigo.test.v1.ProbeService, plugin: probe}]\n"
      "callers:\n  - {identity: care-system-a, offices: [\"" +
      kOffice + "\"], roles: [care_manager]}\nstore:\n  sqlite_path: state.db\n";
  auto engine = EngineProcess::Start(dir.Write("engine.yaml", config));
  ASSERT_TRUE(engine.ok()) << engine.status();
  std::string url = absl::StrCat("https://localhost:", (*engine)->http_port(),
                                 "/kaigo.test.v1.ProbeService/Echo");
  std::string call = "--cacert " + dir.path() +
                     "/ca.crt -H 'Content-Type: application/json' "
                     "-H 'Connect-Protocol-Version: 1' -H 'x-kaigo-office: " +
                     kOffice + "' --data-binary '{}' ";
  auto as = [&](const std::string& client) {
    return " --cert " + dir.path() + "/" + client + ".crt --key " + dir.path() + "/" + client +
           ".key ";
  };
  HttpAnswer a = Curl(dir, call + as("care-system-a") + url);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(json::parse(a.body)["caller"], "care-system-a");
  EXPECT_EQ(json::parse(a.body)["roles"], json::array({"care_manager"}));
  HttpAnswer unlisted = Curl(dir, call + as("unlisted") + url);
  EXPECT_EQ(unlisted.status, 403) << unlisted.body;
  EXPECT_EQ(json::parse(unlisted.body)["code"], "permission_denied");
  HttpAnswer anonymous = Curl(dir, call + url);
  EXPECT_EQ(anonymous.status, 0) << "the handshake needs a client certificate";
}

}  // namespace
}  // namespace kaigo::testing

// A hostile platform: a small TLS server inside this test (OpenSSL, loopback, port 0, the
// sandbox's server certificate) poses as the platform for some offices of a real engine running
// the qualification plugin, while another office reaches the real sandbox. The platform answers a
// login with wrong JSON types or nulls or 429 with a Retry-After (which reaches the client as its
// RetryInfo), a lookup with nulls or 100 MiB, drips one byte per 100 ms, or never answers. Each
// call ends with a clear error (never INTERNAL or UNKNOWN) before its own deadline, and the engine
// keeps answering: health, and a lookup through the real sandbox. A mailbox case: a
// one-time-password mail larger than the mailbox plugin reads (a real dovecot).
//
// No assertion on speed: deadlines are generous and only say that the call ended.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/test/v1/probe.grpc.pb.h"
#include "kaigo/v1/qualification.grpc.pb.h"
#include "tests/support/into.h"
#include "tests/support/imap_server.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

namespace v1 = kaigo::v1;
namespace t = kaigo::test::v1;

// How the hostile platform treats a user (the login's user_id; later requests carry it as their
// bearer token).
constexpr char kWrongTypes[] = "wrong-types";    // login: {"access_token": 1, "refresh_token": 2}
constexpr char kNullTokens[] = "null-tokens";    // login: both tokens null
constexpr char kNullRecords[] = "null-records";  // lookup: {"records": [null]}
constexpr char kHuge[] = "huge";                 // lookup: 100 MiB
constexpr char kDrip[] = "drip";                 // login: one byte per 100 ms
constexpr char kSilent[] = "silent";             // login: read, never answered
constexpr char kSilentLong[] = "silent-long";    // the same, for an office allowed 10 minutes
constexpr char kBusy[] = "busy";                 // login: 429, Retry-After: 120

// The TLS server posing as the platform. Each connection has its thread; Stop() shuts every
// socket down and joins them.
class HostilePlatform {
 public:
  HostilePlatform(const std::string& cert, const std::string& key) {
    signal(SIGPIPE, SIG_IGN);  // a write after the engine hung up fails, it does not kill the test
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_chain_file(ctx_, cert.c_str());
    SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM);
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listener_, 64);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~HostilePlatform() { Stop(); }

  void Stop() {
    if (stopping_.exchange(true)) return;
    shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    close(listener_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : open_) shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : connections_) t.join();
    SSL_CTX_free(ctx_);
  }

  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port_); }

  // Waits (up to `most`) until the platform has seen a request of `user` and the engine has since
  // closed every connection of that user; false if not.
  bool AwaitClosed(const std::string& user, absl::Duration most) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoMilliseconds(most),
                             [&] { return seen_[user] > 0 && open_of_[user] == 0; });
  }

 private:
  void Accept() {
    while (!stopping_) {
      int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      open_.push_back(fd);
      connections_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Reads one request: whether it is a login, and the user from its body or its bearer token.
  static bool ReadRequest(SSL* ssl, std::string* user, bool* login) {
    std::string in;
    char buf[4096];
    size_t end = std::string::npos;
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) return false;
      in.append(buf, n);
    }
    std::smatch m;
    size_t length = 0;
    if (std::regex_search(in, m, std::regex("Content-Length: *([0-9]+)", std::regex::icase))) {
      length = std::stoul(m[1]);
    }
    while (in.size() < end + 4 + length) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) return false;
      in.append(buf, n);
    }
    *login = in.rfind("POST /api/v1/login ", 0) == 0;
    if (std::regex_search(in, m, std::regex("\"user_id\":\"([^\"]*)\"")) ||
        std::regex_search(in, m, std::regex("Authorization: Bearer ([^\r]*)"))) {
      *user = m[1];
    }
    return true;
  }

  static bool Write(SSL* ssl, const std::string& bytes) {
    return SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())) > 0;
  }
  static std::string Json(const std::string& body) {
    return absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ",
                        body.size(), "\r\n\r\n", body);
  }

  void Serve(int fd) {
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    std::string user;
    bool login = false;
    if (SSL_accept(ssl) == 1) {
      while (!stopping_ && ReadRequest(ssl, &user, &login)) {
        Note(user, +1);
        bool more = Answer(ssl, user, login);
        Note(user, -1);
        if (!more) break;
      }
    }
    SSL_free(ssl);
    std::lock_guard<std::mutex> lock(mu_);
    open_.erase(std::find(open_.begin(), open_.end(), fd));
    close(fd);
  }

  // Counts a user's requests seen and still open.
  void Note(const std::string& user, int delta) {
    std::lock_guard<std::mutex> lock(mu_);
    if (delta > 0) ++seen_[user];
    open_of_[user] += delta;
    changed_.notify_all();
  }

  // Answers one request as `user` is treated; false to end the connection.
  bool Answer(SSL* ssl, const std::string& user, bool login) {
    if (user == kWrongTypes) return Write(ssl, Json(R"({"access_token": 1, "refresh_token": 2})"));
    if (user == kNullTokens) {
      return Write(ssl, Json(R"({"access_token": null, "refresh_token": null})"));
    }
    if (login && (user == kNullRecords || user == kHuge)) {
      return Write(ssl, Json(R"({"access_token": ")" + user + R"(", "refresh_token": "r"})"));
    }
    if (user == kNullRecords) return Write(ssl, Json(R"({"records": [null]})"));
    if (user == kBusy) {
      std::string body = R"({"error": {"code": "RATE_LIMITED", "message": "slow down"}})";
      return Write(ssl, absl::StrCat("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\n"
                                     "Content-Type: application/json\r\nContent-Length: ",
                                     body.size(), "\r\n\r\n", body));
    }
    if (user == kHuge) {
      // 100 MiB of a JSON array, announced, streamed until the engine stops reading.
      constexpr size_t kSize = size_t{100} << 20;
      if (!Write(ssl, absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   "Content-Length: ",
                                   kSize, "\r\n\r\n["))) {
        return false;
      }
      std::string block(1 << 16, ' ');
      for (size_t sent = 1; sent < kSize && !stopping_; sent += block.size()) {
        if (!Write(ssl, block)) return false;
      }
      return false;
    }
    if (user == kDrip) {
      std::string answer = Json(R"({"access_token": "drip", "refresh_token": "r"})");
      for (char c : answer) {
        if (stopping_ || !Write(ssl, std::string(1, c))) return false;
        absl::SleepFor(absl::Milliseconds(100));
      }
      return true;
    }
    // Silent: hold the request unanswered until the engine closes the connection.
    char c;
    while (!stopping_ && SSL_read(ssl, &c, 1) > 0) {
    }
    return false;
  }

  SSL_CTX* ctx_ = nullptr;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<int> open_;  // sockets of open connections
  std::vector<std::thread> connections_;
  std::map<std::string, int> seen_;     // requests per user
  std::map<std::string, int> open_of_;  // requests per user still being answered
};

constexpr char kSakura[] = "1371000017";  // the real sandbox
constexpr char kMailUser[] = "hostile@mail.example";
const std::map<std::string, std::string>& HostileOffices() {
  static const auto* offices = new std::map<std::string, std::string>{
      {kWrongTypes, Office("139000001")},  {kNullTokens, Office("139000002")},
      {kNullRecords, Office("139000003")}, {kHuge, Office("139000004")},
      {kDrip, Office("139000005")},        {kSilent, Office("139000006")},
      {kSilentLong, Office("139000007")},  {kBusy, Office("139000009")}};
  return *offices;
}
const std::string& MailOffice() {
  static const std::string office = Office("139000008");
  return office;
}

class HostilePlatformTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = PlatformStack::Start(
        {"qualification", "otp_mailbox", "probe"},
        [](const SandboxProcess& sandbox, const TempDir& dir) {
          hostile_ =
              new HostilePlatform(sandbox.dir() + "/server.crt", sandbox.dir() + "/server.key");
          auto imap = ImapServer::Start(sandbox.dir() + "/mail", sandbox.dir());
          EXPECT_TRUE(imap.ok()) << imap.status();
          imap_ = imap.ok() ? imap->release() : nullptr;
          PlatformBinding lookup = {
              "kaigo.v1.QualificationService", "qualification", {"cache_ttl_seconds: 0"}};
          std::string yaml =
              PlatformOfficeYaml(sandbox, dir, kSakura, "sakura-cm", "Sakura#2026", {lookup});
          // The hostile offices: the sandbox's certificates (the hostile platform asks for no
          // client certificate), the hostile platform's URL, 5 s per call (10 minutes for one).
          auto certificate_for = [&sandbox](const std::string& office) {
            std::filesystem::copy_file(sandbox.dir() + "/office-" + kSakura + ".p12",
                                       sandbox.dir() + "/office-" + office + ".p12",
                                       std::filesystem::copy_options::overwrite_existing);
          };
          certificate_for(MailOffice());
          for (const auto& [user, office] : HostileOffices()) {
            certificate_for(office);
            std::string most = user == kSilentLong ? "600000" : "5000";
            yaml += absl::StrReplaceAll(PlatformOfficeYaml(sandbox, dir, office, user, "any",
                                                           {lookup}, {}, {"max_call_ms: " + most}),
                                        {{sandbox.base_url(), hostile_->base_url()}});
          }
          std::vector<std::pair<std::string, std::string>> secrets;
          PlatformBinding mailbox = MailboxBinding(imap_, sandbox, dir, kMailUser, &secrets,
                                                   {"default_timeout_seconds: 3"});
          PlatformBinding probe = {"kaigo.test.v1.ProbeService", "probe", {}, false};
          return yaml + PlatformOfficeYaml(sandbox, dir, MailOffice(), "sakura-cm", "Sakura#2026",
                                           {mailbox, probe}, secrets);
        });
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    auto channel = InsecureChannel(stack_->engine->target());
    lookup_ = v1::QualificationService::NewStub(channel).release();
    probe_ = t::ProbeService::NewStub(channel).release();
    health_ = grpc::health::v1::Health::NewStub(channel).release();
  }
  static void TearDownTestSuite() {
    delete lookup_;
    delete probe_;
    delete health_;
    delete stack_;  // the engine first: it holds connections to the hostile platform
    delete hostile_;
    delete imap_;
  }

  static grpc::Status Lookup(const std::string& office, absl::Duration deadline,
                             v1::QualificationResult* result) {
    v1::LookupByInsuredNumberRequest request;
    request.mutable_insurer()->set_value("131011");
    request.mutable_insured()->set_value("0000100004");
    return lookup_->LookupByInsuredNumber(Context(office, deadline).get(), request, Into(result));
  }

  // The call through a hostile office ended with a clear error of the engine's (not gRPC's own
  // deadline: the office allows 5 s per call, the call 120 s), and the engine still answers.
  static void ExpectClearError(const std::string& user, const std::vector<grpc::StatusCode>& codes,
                               const std::string& says) {
    SCOPED_TRACE(user);
    v1::QualificationResult result;
    grpc::Status status = Lookup(HostileOffices().at(user), absl::Seconds(120), &result);
    EXPECT_NE(std::find(codes.begin(), codes.end(), status.error_code()), codes.end())
        << status.error_code() << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(says), std::string::npos) << status.error_message();
    ExpectEngineAnswers();
  }

  static void ExpectEngineAnswers() {
    EXPECT_EQ(kill(stack_->engine->pid(), 0), 0) << "the engine died\n" << stack_->engine->Log();
    grpc::health::v1::HealthCheckResponse health;
    EXPECT_TRUE(health_->Check(Context("").get(), {}, &health).ok());
    v1::QualificationResult result;
    grpc::Status status = Lookup(kSakura, absl::Seconds(30), &result);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(result.verdict(), v1::QUALIFICATION_VERDICT_VALID);
  }

  static PlatformStack* stack_;
  static HostilePlatform* hostile_;
  static ImapServer* imap_;
  static v1::QualificationService::Stub* lookup_;
  static t::ProbeService::Stub* probe_;
  static grpc::health::v1::Health::Stub* health_;
};

PlatformStack* HostilePlatformTest::stack_ = nullptr;
HostilePlatform* HostilePlatformTest::hostile_ = nullptr;
ImapServer* HostilePlatformTest::imap_ = nullptr;
v1::QualificationService::Stub* HostilePlatformTest::lookup_ = nullptr;
t::ProbeService::Stub* HostilePlatformTest::probe_ = nullptr;
grpc::health::v1::Health::Stub* HostilePlatformTest::health_ = nullptr;

using grpc::StatusCode;

// A platform that asks for time: the call ends at once (its wait is beyond the office's 5 s), and
// the client is told how long to wait and why, as the platform said.
TEST_F(HostilePlatformTest, ARetryAfterReachesTheClient) {
  v1::QualificationResult result;
  grpc::Status status = Lookup(HostileOffices().at(kBusy), absl::Seconds(120), &result);
  ASSERT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << status.error_message();
  absl::Status why = WithDetails(status);
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(sdk::FindDetail(why, &retry)) << status.error_message();
  EXPECT_EQ(retry.retry_delay().seconds(), 120);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(sdk::FindDetail(why, &info));
  EXPECT_EQ(info.reason(), "RATE_LIMITED");
  EXPECT_EQ(info.domain(), "platform.kaigo-kiban");
  EXPECT_EQ(info.metadata().at("http_status"), "429");
  ExpectEngineAnswers();
}

TEST_F(HostilePlatformTest, LoginWithWrongJsonTypes) {
  ExpectClearError(kWrongTypes, {StatusCode::UNAVAILABLE},
                   "access_token must be a non-empty string");
}

TEST_F(HostilePlatformTest, LoginWithNullTokens) {
  ExpectClearError(kNullTokens, {StatusCode::UNAVAILABLE},
                   "access_token must be a non-empty string");
}

TEST_F(HostilePlatformTest, LookupWithANullRecord) {
  ExpectClearError(kNullRecords, {StatusCode::UNAVAILABLE}, "not an object");
}

TEST_F(HostilePlatformTest, AHundredMebibyteAnswer) {
  ExpectClearError(kHuge, {StatusCode::UNAVAILABLE}, "platform answer larger than 33554432 bytes");
}

TEST_F(HostilePlatformTest, ASlowDrip) {
  ExpectClearError(kDrip, {StatusCode::DEADLINE_EXCEEDED, StatusCode::UNAVAILABLE},
                   "platform " + hostile_->base_url() + "/api/v1/login");
}

TEST_F(HostilePlatformTest, APlatformThatNeverAnswers) {
  ExpectClearError(kSilent, {StatusCode::DEADLINE_EXCEEDED},
                   "platform " + hostile_->base_url() + "/api/v1/login: no complete answer");
}

// The office allows 10 minutes per call, the call 3 s: the call's deadline ends the platform
// request (the engine closes its connection), not the office's maximum.
TEST_F(HostilePlatformTest, TheCallsDeadlineEndsThePlatformRequest) {
  v1::QualificationResult result;
  grpc::Status status = Lookup(HostileOffices().at(kSilentLong), absl::Seconds(3), &result);
  EXPECT_EQ(status.error_code(), StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_TRUE(hostile_->AwaitClosed(kSilentLong, absl::Minutes(2)))
      << "the engine still waits on the platform after its caller's deadline";
  ExpectEngineAnswers();
}

// A mail with the one-time password's subject too large to read (8 MiB; the plugin reads 4 MiB):
// passed over, and named in the error when no code comes (the probe asks the office's OTP
// concern, otp_mailbox, which waits 3 s).
TEST_F(HostilePlatformTest, AnOversizedMailIsNamed) {
  ASSERT_NE(imap_, nullptr);
  std::string box = stack_->sandbox->dir() + "/mail/" + kMailUser;
  for (const char* sub : {"", "/new", "/cur", "/tmp"}) {
    std::filesystem::create_directories(box + sub);
    std::filesystem::permissions(box + sub, std::filesystem::perms::all);  // dovecot: nobody
  }
  std::string subject = "【介護情報基盤ポータル】ワンタイムパスワード発行通知";
  std::string date =
      absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", TestClock().Now(), absl::UTCTimeZone());
  TempDir::WriteAt(box + "/new/1.hostile",
                   "From: platform@example.jp\r\nTo: " + std::string(kMailUser) +
                       "\r\nSubject: =?UTF-8?B?" + absl::Base64Escape(subject) +
                       "?=\r\nDate: " + date +
                       "\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nワンタイムパスワード："
                       "123456\r\n" +
                       std::string(8 << 20, 'x') + "\r\n");
  t::AskOtpResponse response;
  grpc::Status status =
      probe_->AskOtp(Context(MailOffice(), absl::Seconds(120)).get(), {}, &response);
  EXPECT_EQ(status.error_code(), StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_NE(status.error_message().find("larger than 4194304 bytes"), std::string::npos)
      << status.error_message();
  ExpectEngineAnswers();
}

}  // namespace
}  // namespace kaigo::testing

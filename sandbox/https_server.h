// The sandbox's HTTPS front: TLS 1.3 only, a client certificate from the sandbox CA required (its
// common name is the office number), REST + JSON in the shape of the platform's API v1.0: business
// errors as HTTP 200 with {"error": …}, system errors as 4xx/5xx. A fault switch, driven by tests
// through POST /sandbox/faults with the control token, adds latency, answers 503, or drops
// connections without answering. POST /sandbox/clock (control token; a loopback server only)
// moves the sandbox's clock: {"offset_seconds": N} or {"japan_time": "2028-03-31T10:00:00"}.
// Client certificates are checked at that clock.
//
// Every mutating request but login and token refresh needs an `Idempotency-Key` header (400
// without one); the ledger (idempotency_ledger.h) performs it once per office and key and replays
// its answer to a repeat, marked `Idempotent-Replayed: true`. For the kill tests, the fault
// switch's `kill_after` ({"path", "pid"}, loopback only) sends SIGKILL to that process once the
// next request to that path has been performed and its answer kept, and closes the connection
// unanswered: the caller dies between the platform's answer and its own save. Without "pid" only
// the answer is lost (as after a timeout), and the caller's retry meets the kept answer.
//
// One thread per connection (a test and demo server, not a production one). Thread-safe.
#ifndef KAIGO_SANDBOX_HTTPS_SERVER_H_
#define KAIGO_SANDBOX_HTTPS_SERVER_H_

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "kaigo/sdk/clock.h"
#include "sandbox/card_verifier.h"
#include "sandbox/careplan_desk.h"
#include "sandbox/idempotency_ledger.h"
#include "sandbox/platform_model.h"
#include "sandbox/portal_model.h"
#include "sandbox/subsidy_desk.h"

namespace kaigo::sandbox {

struct Faults {
  int latency_ms = 0;           // added before every answer
  int fail_503 = 0;             // this many next requests get 503
  int drop = 0;                 // this many next requests get their connection closed unanswered
  std::string kill_after_path;  // the next kept answer to this path is lost (and kill_pid dies)
  int kill_pid = 0;
};

class HttpsServer {
 public:
  // `dir` holds server.crt, server.key and ca.crt (see certificates.h). `clock` is the one the
  // models read; `clock_control` lets POST /sandbox/clock move it (only for a loopback server).
  HttpsServer(PlatformModel* model, SubsidyDesk* subsidy, CareplanDesk* careplan,
              CardVerifier* cards, PortalModel* portal, IdempotencyLedger* ledger,
              const std::string& dir, std::string control_token, Clock* clock, bool clock_control);
  ~HttpsServer();

  // Binds and starts accepting; returns the port.
  absl::StatusOr<int> Start(const std::string& host, int port);
  void Stop();

  // One answer: status, content type and body, or `drop` to close without answering.
  struct Response;

 private:
  void Accept();
  void Serve(boost::asio::ip::tcp::socket socket);
  // One request as the handlers read it: what Serve took from the HTTP request and the TLS peer.
  struct Request {
    std::string method;
    std::string target;                        // path and query, as sent
    std::string path;                          // the target without its query
    std::map<std::string, std::string> query;  // decoded; a missing name reads as empty
    std::string body;
    std::string authorization;    // Authorization
    std::string control;          // X-Sandbox-Control: the sandbox's control token
    std::string portal_session;   // X-Portal-Session
    std::string office;           // the client certificate's office
    std::string idempotency_key;  // Idempotency-Key
  };
  // Handle behind the idempotency ledger.
  Response Idempotent(Request& request);
  // The kill_after fault, if it is armed for `path`: kills its process once; true if it did.
  bool KillAfter(const std::string& path);
  // The sandbox's own endpoints, then the faults, login, the portal's pages, and the routes behind
  // a web-API session (HandleWithSession).
  Response Handle(Request& request);
  bool TakeFault(int Faults::*counter);
  // The latency fault waited out; a dropped connection or a 503 when one of those faults is due.
  std::optional<Response> InjectFault();

  // /sandbox/…: need the control token; the clock moves only on a loopback sandbox.
  Response ControlClock(Request& request);
  Response SetClock(const std::string& body);
  Response ControlFaults(Request& request);
  Response Health(Request& request);
  // POST /api/v1/login and /api/v1/token/refresh.
  Response Login(const Request& request);
  // The portal's registration and login pages (no web-API session).
  Response HandlePortal(const Request& request);

  // The routes behind a web-API session, by route table; GET queries about one recipient last.
  Response HandleWithSession(Request& request, const Session& session);
  // The portal's subsidy endpoints (/portal/v1/subsidy/…).
  Response HandleSubsidy(Request& request, const Session& session);
  // ケアプランデータ連携 (/api/v1/careplan/…) and the 居宅サービス計画作成依頼届出
  // (/portal/v1/careplan-requests…).
  Response HandleCareplan(Request& request, const Session& session);
  Response CardChallenge(Request& request, const Session& session);
  Response CertificateByCard(Request& request, const Session& session);
  Response Municipalities(Request& request, const Session& session);
  Response Document(Request& request, const Session& session);
  // GET insured-certificate, certification/progress and certification/documents, which name the
  // recipient by insurer_number and insured_number.
  Response RecipientQuery(Request& request, const Session& session);

  PlatformModel* model_;
  SubsidyDesk* subsidy_;
  CareplanDesk* careplan_;
  CardVerifier* cards_;
  PortalModel* portal_;
  IdempotencyLedger* ledger_;
  std::string dir_;
  std::string control_token_;
  Clock* clock_;
  bool clock_control_;
  boost::asio::io_context io_;
  boost::asio::ssl::context tls_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::mutex faults_mu_;
  Faults faults_;
};

}  // namespace kaigo::sandbox

#endif  // KAIGO_SANDBOX_HTTPS_SERVER_H_

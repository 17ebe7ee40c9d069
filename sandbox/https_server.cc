#include "sandbox/https_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstring>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kaigo::sandbox {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using nlohmann::json;

struct HttpsServer::Response {
  http::status status = http::status::ok;
  std::string content_type = "application/json";
  std::string body;
  bool drop = false;
  bool replayed = false;  // a kept answer to an earlier request under the same Idempotency-Key
};

namespace {

HttpsServer::Response Json(http::status status, const json& body) {
  return {status, "application/json", body.dump(), false};
}

HttpsServer::Response SystemError(http::status status, const std::string& code,
                                  const std::string& message) {
  return Json(status, {{"error", {{"code", code}, {"message", message}}}});
}

HttpsServer::Response Business(const BusinessError& e) {
  json error = {{"code", e.code}, {"message", e.message}};
  error.update(e.extra);
  return Json(http::status::ok, {{"error", error}});
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      if (absl::SimpleHexAtoi(std::string(s.substr(i + 1, 2)), &v)) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

std::map<std::string, std::string> QueryOf(const std::string& target, std::string* path) {
  std::map<std::string, std::string> out;
  size_t q = target.find('?');
  *path = target.substr(0, q);
  if (q == std::string::npos) return out;
  for (absl::string_view pair : absl::StrSplit(target.substr(q + 1), '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    out[PercentDecode(kv.first)] = PercentDecode(kv.second);
  }
  return out;
}

// Request bodies up to this size are read: subsidy attachments come raw (≤ 20 MiB), care-plan
// files in base64 inside JSON (4/3 of their size, ≤ 20 MiB each), so a send with a file at the
// limit still fits, with room for more. Larger bodies get 413.
constexpr uint64_t kMaxBodyBytes = 64 << 20;

// Portal paths that, unlike the portal's registration and login pages, need the web API's
// session (Bearer token): the subsidy desk and the care-plan request notification.
bool PortalWithSession(const std::string& path) {
  return path.rfind("/portal/v1/subsidy/", 0) == 0 || path == "/portal/v1/careplan-requests" ||
         path.rfind("/portal/v1/careplan-requests/", 0) == 0;
}

// Requests that change something need an Idempotency-Key: every mutating method, but for login
// and token refresh (they make no record, and a replay would hand out a kept token) and the
// sandbox's own control endpoints.
bool NeedsIdempotencyKey(const std::string& method, const std::string& path) {
  if (method != "POST" && method != "PUT" && method != "PATCH" && method != "DELETE") return false;
  return path != "/api/v1/login" && path != "/api/v1/token/refresh" &&
         path.rfind("/sandbox/", 0) != 0;
}

// An Idempotency-Key as the draft's sf-string carries it: 1 to 255 visible ASCII characters.
bool WellFormedKey(const std::string& key) {
  if (key.empty() || key.size() > 255) return false;
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// Whether an answer made something (and so is kept for the key): 2xx without {"error": …}.
bool Performed(const HttpsServer::Response& r) {
  int status = static_cast<int>(r.status);
  if (r.drop || status < 200 || status >= 300) return false;
  if (r.content_type != "application/json") return true;
  json body = json::parse(r.body, nullptr, false);
  return !(body.is_object() && body.contains("error"));
}

std::string PeerOffice(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  char cn[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  X509_free(cert);
  return cn;
}

}  // namespace

HttpsServer::HttpsServer(PlatformModel* model, SubsidyDesk* subsidy, CareplanDesk* careplan,
                         CardVerifier* cards, PortalModel* portal, IdempotencyLedger* ledger,
                         const std::string& dir, std::string control_token, Clock* clock,
                         bool clock_control)
    : model_(model),
      subsidy_(subsidy),
      careplan_(careplan),
      cards_(cards),
      portal_(portal),
      ledger_(ledger),
      dir_(dir),
      control_token_(std::move(control_token)),
      clock_(clock),
      clock_control_(clock_control),
      tls_(asio::ssl::context::tls_server) {}

HttpsServer::~HttpsServer() { Stop(); }

absl::StatusOr<int> HttpsServer::Start(const std::string& host, int port) {
  boost::system::error_code ec;
  SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_3_VERSION);
  tls_.use_certificate_chain_file(dir_ + "/server.crt", ec);
  if (!ec) tls_.use_private_key_file(dir_ + "/server.key", asio::ssl::context::pem, ec);
  if (!ec) tls_.load_verify_file(dir_ + "/ca.crt", ec);
  if (ec) return absl::FailedPreconditionError("certificates in " + dir_ + ": " + ec.message());
  tls_.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  // Without a session id context, OpenSSL refuses to resume sessions of verified clients, and a
  // client that reconnects with a ticket (libcurl does) fails its handshake.
  static const unsigned char kContext[] = "kaigo-sandbox";
  SSL_CTX_set_session_id_context(tls_.native_handle(), kContext, sizeof kContext - 1);
  acceptor_ = std::make_unique<tcp::acceptor>(io_);
  tcp::endpoint endpoint(asio::ip::make_address(host, ec), static_cast<uint16_t>(port));
  if (ec) return absl::InvalidArgumentError("listen address: " + ec.message());
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(64, ec);
  if (ec) return absl::UnavailableError("cannot listen: " + ec.message());
  int bound = acceptor_->local_endpoint().port();
  accept_thread_ = std::thread([this] { Accept(); });
  return bound;
}

void HttpsServer::Stop() {
  stopping_ = true;
  if (acceptor_) {
    boost::system::error_code ec;
    acceptor_->close(ec);
  }
  if (accept_thread_.joinable()) accept_thread_.join();
}

void HttpsServer::Accept() {
  while (!stopping_) {
    boost::system::error_code ec;
    tcp::socket socket(io_);
    acceptor_->accept(socket, ec);
    if (ec) continue;
    std::thread([this, s = std::move(socket)]() mutable { Serve(std::move(s)); }).detach();
  }
}

HttpsServer::Response HttpsServer::SetClock(const std::string& body) {
  json c = json::parse(body, nullptr, false);
  if (c.is_discarded() || !c.is_object()) {
    return SystemError(http::status::bad_request, "BAD_REQUEST", "body: not a JSON object");
  }
  if (auto offset = c.find("offset_seconds"); offset != c.end() && offset->is_number_integer()) {
    clock_->set_offset(absl::Seconds(offset->get<int64_t>()));
  } else if (auto at = c.find("japan_time"); at != c.end() && at->is_string()) {
    absl::CivilSecond japan_time;
    if (!absl::ParseCivilTime(at->get<std::string>(), &japan_time)) {
      return SystemError(http::status::bad_request, "BAD_REQUEST",
                         "japan_time: not YYYY-MM-DDTHH:MM:SS");
    }
    clock_->set_offset(OffsetTo(japan_time));
  } else {
    return SystemError(http::status::bad_request, "BAD_REQUEST",
                       "offset_seconds (an integer) or japan_time (a string) required");
  }
  absl::Time now = clock_->Now();
  return Json(http::status::ok,
              {{"offset_seconds", absl::ToInt64Seconds(clock_->offset())},
               {"now", absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", now, JapanTime())},
               {"today", IsoDate(JapanDay(now))}});
}

bool HttpsServer::TakeFault(int Faults::*counter) {
  std::lock_guard<std::mutex> lock(faults_mu_);
  if (faults_.*counter <= 0) return false;
  --(faults_.*counter);
  return true;
}

void HttpsServer::Serve(tcp::socket socket) {
  asio::ssl::stream<tcp::socket> stream(std::move(socket), tls_);
  X509_VERIFY_PARAM_set_time(SSL_get0_param(stream.native_handle()), absl::ToTimeT(clock_->Now()));
  boost::system::error_code ec;
  stream.handshake(asio::ssl::stream_base::server, ec);
  if (ec) return;  // no certificate, a foreign CA, or TLS below 1.3
  std::string office = PeerOffice(stream.native_handle());
  boost::beast::flat_buffer buffer;
  for (;;) {
    // Beast's default request body limit is 1 MiB.
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::body_limit) {
      http::response<http::string_body> out{http::status::payload_too_large, 11};
      out.set(http::field::content_type, "application/json");
      out.body() = json{{"error",
                         {{"code", "PAYLOAD_TOO_LARGE"},
                          {"message", absl::StrCat("request bodies are at most ",
                                                   kMaxBodyBytes >> 20, " MiB")}}}}
                       .dump();
      out.keep_alive(false);
      out.prepare_payload();
      http::write(stream, out, ec);
      break;
    }
    if (ec) break;
    http::request<http::string_body> request = parser.release();
    Response response;
    try {  // no input may take the server down: an escaped exception is a 500
      Request in;
      in.method = std::string(request.method_string());
      in.target = std::string(request.target());
      in.query = QueryOf(in.target, &in.path);
      in.body = request.body();
      in.authorization = std::string(request[http::field::authorization]);
      in.control = std::string(request["X-Sandbox-Control"]);
      in.portal_session = std::string(request["X-Portal-Session"]);
      in.office = office;
      in.idempotency_key = std::string(request["Idempotency-Key"]);
      response = Idempotent(in);
    } catch (const std::exception& e) {
      response = SystemError(http::status::internal_server_error, "INTERNAL", e.what());
    }
    if (response.drop) break;  // the connection closes with nothing sent
    http::response<http::string_body> out{response.status, request.version()};
    out.set(http::field::server, "kaigo-sandbox");
    out.set(http::field::content_type, response.content_type);
    if (response.replayed) out.set("Idempotent-Replayed", "true");
    out.keep_alive(request.keep_alive());
    out.body() = std::move(response.body);
    out.prepare_payload();
    http::write(stream, out, ec);
    if (ec || !request.keep_alive()) break;
  }
  stream.shutdown(ec);
}

bool HttpsServer::KillAfter(const std::string& path) {
  std::lock_guard<std::mutex> lock(faults_mu_);
  if (faults_.kill_after_path.empty() || faults_.kill_after_path != path) return false;
  if (faults_.kill_pid > 1) kill(faults_.kill_pid, SIGKILL);
  faults_.kill_pid = 0;
  faults_.kill_after_path.clear();
  return true;
}

HttpsServer::Response HttpsServer::Idempotent(Request& request) {
  const std::string& method = request.method;
  const std::string& path = request.path;
  const std::string& office = request.office;
  const std::string& key = request.idempotency_key;
  if (!NeedsIdempotencyKey(method, path)) return Handle(request);
  if (key.empty()) {
    return SystemError(http::status::bad_request, "IDEMPOTENCY_KEY_REQUIRED",
                       "Idempotency-Key: required on every " + method +
                           " (the same key on every retry of the same request)");
  }
  if (!WellFormedKey(key)) {
    return SystemError(http::status::bad_request, "IDEMPOTENCY_KEY_INVALID",
                       "Idempotency-Key: 1 to 255 visible ASCII characters");
  }
  std::string fingerprint = IdempotencyLedger::Fingerprint(method, request.target, request.body);
  IdempotencyLedger::Entry entry = ledger_->Begin(office, key, fingerprint);
  switch (entry.verdict) {
    case IdempotencyLedger::Verdict::kReplay: {
      Response replay{static_cast<http::status>(entry.answer.status), entry.answer.content_type,
                      std::move(entry.answer.body), false, true};
      return replay;
    }
    case IdempotencyLedger::Verdict::kMismatch:
      return SystemError(http::status::unprocessable_entity, "IDEMPOTENCY_KEY_REUSED",
                         "Idempotency-Key: '" + key + "' was first used for another request (" +
                             entry.first_request +
                             " with other content); a new request needs a new key");
    case IdempotencyLedger::Verdict::kInFlight:
      return SystemError(
          http::status::conflict, "IDEMPOTENCY_KEY_IN_USE",
          "Idempotency-Key: '" + key + "' is on a request still being performed; retry shortly");
    case IdempotencyLedger::Verdict::kPerform:
      break;
  }
  Response response;
  try {
    response = Handle(request);
  } catch (...) {
    ledger_->Finish(office, key, fingerprint, method + " " + path, false, {});
    throw;
  }
  bool keep = Performed(response);
  ledger_->Finish(office, key, fingerprint, method + " " + path, keep,
                  {static_cast<int>(response.status), response.content_type, response.body});
  if (keep && KillAfter(path)) return Response{http::status::ok, "", "", true};
  return response;
}

namespace {

// A route: requests whose path is `path` (or starts with it, when `prefix`) and whose method is
// `method` (any, when empty) go to `handle`.
template <class Handler>
struct Route {
  const char* path;
  bool prefix;
  const char* method;
  Handler handle;
};

// The first of `routes` that matches, or null.
template <class Handler, size_t N>
const Route<Handler>* FindRoute(const Route<Handler> (&routes)[N], const std::string& method,
                                const std::string& path) {
  for (const Route<Handler>& route : routes) {
    bool path_matches = route.prefix ? path.rfind(route.path, 0) == 0 : path == route.path;
    if (path_matches && (*route.method == '\0' || method == route.method)) return &route;
  }
  return nullptr;
}

}  // namespace

HttpsServer::Response HttpsServer::Handle(Request& request) {
  using ControlHandler = Response (HttpsServer::*)(Request&);
  // The sandbox's own endpoints answer before any fault.
  static const Route<ControlHandler> kControl[] = {
      {"/sandbox/clock", false, "POST", &HttpsServer::ControlClock},
      {"/sandbox/faults", false, "POST", &HttpsServer::ControlFaults},
      {"/sandbox/health", false, "", &HttpsServer::Health},
  };
  if (auto* route = FindRoute(kControl, request.method, request.path)) {
    return (this->*route->handle)(request);
  }
  if (std::optional<Response> fault = InjectFault()) return *std::move(fault);
  const std::string& path = request.path;
  if (path == "/api/v1/login" || path == "/api/v1/token/refresh") return Login(request);
  // The portal's own pages: the office's certificate, no web-API token (registration and login
  // come before any user exists); added-user management carries the portal session.
  if (path.rfind("/portal/v1/", 0) == 0 && !PortalWithSession(path)) return HandlePortal(request);
  const std::string kBearer = "Bearer ";
  const std::string& authorization = request.authorization;
  auto session = model_->Authenticate(request.office, authorization.rfind(kBearer, 0) == 0
                                                          ? authorization.substr(kBearer.size())
                                                          : "");
  if (!session.ok()) {
    return SystemError(http::status::unauthorized, "UNAUTHENTICATED",
                       std::string(session.status().message()));
  }
  return HandleWithSession(request, *session);
}

HttpsServer::Response HttpsServer::ControlClock(Request& request) {
  if (request.control != control_token_ || !clock_control_) {
    return SystemError(
        http::status::forbidden, "FORBIDDEN",
        clock_control_ ? "wrong control token" : "the clock moves only on a loopback sandbox");
  }
  return SetClock(request.body);
}

HttpsServer::Response HttpsServer::ControlFaults(Request& request) {
  if (request.control != control_token_) {
    return SystemError(http::status::forbidden, "FORBIDDEN", "wrong control token");
  }
  const std::string& body = request.body;
  json f = json::parse(body, nullptr, false);
  if (f.is_discarded() || !f.is_object()) {
    return SystemError(http::status::bad_request, "BAD_REQUEST", "body: not a JSON object");
  }
  std::lock_guard<std::mutex> lock(faults_mu_);
  faults_.latency_ms = f.value("latency_ms", 0);
  faults_.fail_503 = f.value("fail_503", 0);
  faults_.drop = f.value("drop", 0);
  faults_.kill_after_path.clear();
  faults_.kill_pid = 0;
  if (f.contains("kill_after") && f["kill_after"].is_object()) {
    if (!clock_control_) {
      return SystemError(http::status::forbidden, "FORBIDDEN",
                         "kill_after: only on a loopback sandbox");
    }
    const json& kill = f["kill_after"];
    faults_.kill_after_path = kill.value("path", "");
    faults_.kill_pid = kill.value("pid", 0);
    if (faults_.kill_after_path.empty() || faults_.kill_pid < 0 || faults_.kill_pid == 1) {
      return SystemError(http::status::bad_request, "BAD_REQUEST",
                         "kill_after: {\"path\": \"/…\"[, \"pid\": N]} required");
    }
  }
  if (f.value("expire_access_tokens", false)) model_->ExpireAccessTokens();
  if (f.value("expire_otps", false)) portal_->ExpireOtps();
  if (f.contains("advance_certification") && f["advance_certification"].is_object()) {
    const json& who = f["advance_certification"];
    absl::Status advanced = model_->AdvanceCertification(who.value("insurer_number", ""),
                                                         who.value("insured_number", ""));
    if (!advanced.ok()) {
      return SystemError(http::status::bad_request, "BAD_REQUEST", std::string(advanced.message()));
    }
  }
  if (f.contains("advance_subsidy") && f["advance_subsidy"].is_object()) {
    const json& which = f["advance_subsidy"];
    absl::Status advanced =
        subsidy_->Advance(which.contains("application_id") && which["application_id"].is_string()
                              ? which["application_id"].get<std::string>()
                              : "");
    if (!advanced.ok()) {
      return SystemError(http::status::bad_request, "BAD_REQUEST", std::string(advanced.message()));
    }
  }
  return Json(http::status::ok, {{"ok", true}});
}

HttpsServer::Response HttpsServer::Health(Request&) {
  return Json(http::status::ok, {{"ok", true}});
}

std::optional<HttpsServer::Response> HttpsServer::InjectFault() {
  int latency;
  {
    std::lock_guard<std::mutex> lock(faults_mu_);
    latency = faults_.latency_ms;
  }
  if (latency > 0) std::this_thread::sleep_for(std::chrono::milliseconds(latency));
  if (TakeFault(&Faults::drop)) return Response{http::status::ok, "", "", true};
  if (TakeFault(&Faults::fail_503)) {
    return SystemError(http::status::service_unavailable, "UNAVAILABLE",
                       "the service is temporarily unavailable");
  }
  return std::nullopt;
}

HttpsServer::Response HttpsServer::Login(const Request& in) {
  if (in.method != "POST") {
    return SystemError(http::status::method_not_allowed, "METHOD", "use POST");
  }
  const std::string& body = in.body;
  const std::string& path = in.path;
  const std::string& office = in.office;
  json request = json::parse(body, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    return SystemError(http::status::bad_request, "BAD_REQUEST", "body: not a JSON object");
  }
  absl::StatusOr<Tokens> tokens =
      path == "/api/v1/login"
          ? model_->Login(office, request.value("user_id", ""), request.value("password", ""))
          : model_->Refresh(office, request.value("refresh_token", ""));
  if (!tokens.ok()) {
    bool forbidden = tokens.status().code() == absl::StatusCode::kPermissionDenied;
    return SystemError(forbidden ? http::status::forbidden : http::status::unauthorized,
                       forbidden ? "FORBIDDEN" : "UNAUTHENTICATED",
                       std::string(tokens.status().message()));
  }
  return Json(http::status::ok, {{"access_token", tokens->access_token},
                                 {"refresh_token", tokens->refresh_token},
                                 {"expires_in", tokens->access_expires_in},
                                 {"refresh_expires_in", tokens->refresh_expires_in}});
}

HttpsServer::Response HttpsServer::HandlePortal(const Request& in) {
  const std::string& body = in.body;
  json request = body.empty() ? json::object() : json::parse(body, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    return SystemError(http::status::bad_request, "BAD_REQUEST", "body: not a JSON object");
  }
  std::optional<BusinessError> error;
  json result = portal_->Handle(in.method, in.path.substr(std::strlen("/portal/v1/")), request,
                                in.office, in.portal_session, &error);
  if (error) return Business(*error);
  return Json(http::status::ok, result);
}

HttpsServer::Response HttpsServer::HandleWithSession(Request& request, const Session& session) {
  using SessionHandler = Response (HttpsServer::*)(Request&, const Session&);
  static const Route<SessionHandler> kRoutes[] = {
      {"/portal/v1/subsidy/", true, "", &HttpsServer::HandleSubsidy},
      {"/portal/v1/careplan-requests", true, "", &HttpsServer::HandleCareplan},
      {"/api/v1/careplan/", true, "", &HttpsServer::HandleCareplan},
      {"/api/v1/card/challenge", false, "GET", &HttpsServer::CardChallenge},
      {"/api/v1/insured-certificate/by-card", false, "POST", &HttpsServer::CertificateByCard},
      {"/api/v1/municipalities", false, "GET", &HttpsServer::Municipalities},
      {"/api/v1/certification/documents/", true, "GET", &HttpsServer::Document},
  };
  if (auto* route = FindRoute(kRoutes, request.method, request.path)) {
    return (this->*route->handle)(request, session);
  }
  if (request.method != "GET") {
    return SystemError(http::status::method_not_allowed, "METHOD", "use GET");
  }
  return RecipientQuery(request, session);
}

HttpsServer::Response HttpsServer::CardChallenge(Request& request, const Session&) {
  return Json(http::status::ok,
              {{"challenge", absl::Base64Escape(cards_->IssueChallenge(request.office))},
               {"expires_in", 300}});
}

HttpsServer::Response HttpsServer::CertificateByCard(Request& in, const Session& session) {
  const std::string& body = in.body;
  const std::string& office = in.office;
  json request = json::parse(body, nullptr, false);
  std::string challenge, certificate, signature;
  auto field = [&](const char* key, std::string* out) {
    return request.is_object() && request.contains(key) && request[key].is_string() &&
           absl::Base64Unescape(request[key].get<std::string>(), out);
  };
  if (!field("challenge", &challenge) || !field("certificate", &certificate) ||
      !field("signature", &signature)) {
    return SystemError(http::status::bad_request, "BAD_REQUEST",
                       "challenge, certificate and signature are required, in base64");
  }
  std::optional<BusinessError> error;
  auto holder = cards_->Verify(office, challenge, certificate, signature, &error);
  if (!holder) return Business(*error);
  std::string as_of = request.contains("as_of") && request["as_of"].is_string()
                          ? request["as_of"].get<std::string>()
                          : "";
  json result =
      model_->InsuredCertificate(session, holder->insurer, holder->insured, as_of, &error);
  if (error) return Business(*error);
  return Json(http::status::ok, result);
}

HttpsServer::Response HttpsServer::Municipalities(Request&, const Session&) {
  return Json(http::status::ok, {{"municipalities", model_->Municipalities()}});
}

HttpsServer::Response HttpsServer::Document(Request& request, const Session& session) {
  const std::string kDocuments = "/api/v1/certification/documents/";
  auto pdf = model_->Document(session, PercentDecode(request.path.substr(kDocuments.size())));
  if (!pdf.ok()) {
    return SystemError(pdf.status().code() == absl::StatusCode::kNotFound ? http::status::not_found
                                                                          : http::status::forbidden,
                       "NOT_AVAILABLE", std::string(pdf.status().message()));
  }
  return Response{http::status::ok, "application/pdf", *std::move(pdf), false};
}

HttpsServer::Response HttpsServer::RecipientQuery(Request& request, const Session& session) {
  auto& query = request.query;
  const std::string& path = request.path;
  std::string insurer = query["insurer_number"], insured = query["insured_number"];
  if (insurer.empty() || insured.empty()) {
    return SystemError(http::status::bad_request, "BAD_REQUEST",
                       "insurer_number and insured_number are required");
  }
  std::optional<BusinessError> error;
  json result;
  if (path == "/api/v1/insured-certificate") {
    result = model_->InsuredCertificate(session, insurer, insured, query["as_of"], &error);
  } else if (path == "/api/v1/certification/progress") {
    result = model_->CertificationProgress(session, insurer, insured, &error);
  } else if (path == "/api/v1/certification/documents") {
    result = model_->CertificationDocuments(session, insurer, insured, &error);
  } else {
    return SystemError(http::status::not_found, "NOT_FOUND", "no such endpoint: " + path);
  }
  if (error) return Business(*error);
  return Json(http::status::ok, result);
}

HttpsServer::Response HttpsServer::HandleSubsidy(Request& request, const Session& session) {
  const std::string& method = request.method;
  const std::string& path = request.path;
  auto& query = request.query;
  const std::string& body = request.body;
  const std::string kApplications = "/portal/v1/subsidy/applications";
  std::optional<BusinessError> error;
  json result;
  if (path == "/portal/v1/subsidy/attachments" && method == "POST") {
    result = subsidy_->Upload(session, query["kind"], query["file_name"], body, &error);
  } else if (path == kApplications && method == "POST") {
    json application = json::parse(body, nullptr, false);
    if (application.is_discarded() || !application.is_object()) {
      return SystemError(http::status::bad_request, "BAD_REQUEST", "body: not a JSON object");
    }
    result = subsidy_->File(session, application, &error);
  } else if (path == kApplications && method == "GET") {
    result = subsidy_->List(session);
  } else if (path.rfind(kApplications + "/", 0) == 0 && method == "GET") {
    result = subsidy_->Get(session, PercentDecode(path.substr(kApplications.size() + 1)), &error);
  } else {
    return SystemError(http::status::not_found, "NOT_FOUND",
                       "no such endpoint: " + method + " " + path);
  }
  if (error) return Business(*error);
  return Json(http::status::ok, result);
}

HttpsServer::Response HttpsServer::HandleCareplan(Request& in, const Session& session) {
  const std::string& method = in.method;
  const std::string& path = in.path;
  auto& query = in.query;
  const std::string& body = in.body;
  const std::string kSends = "/api/v1/careplan/sends";
  const std::string kReceived = "/api/v1/careplan/received";
  const std::string kRequests = "/portal/v1/careplan-requests";
  auto object = [&](json* out) {
    *out = json::parse(body, nullptr, false);
    return !out->is_discarded() && out->is_object();
  };
  std::optional<BusinessError> error;
  absl::StatusOr<json> result;
  json request;
  if (path == kSends && method == "POST") {
    if (!object(&request)) {
      return SystemError(http::status::bad_request, "BAD_REQUEST", "body: not a JSON object");
    }
    result = careplan_->Send(session, request, &error);
  } else if (path == kSends && method == "GET") {
    result = careplan_->Sent(session, query["month"], &error);
  } else if (path == kReceived && method == "GET") {
    result = careplan_->Received(session, query["month"], &error);
  } else if (path.rfind(kReceived + "/", 0) == 0) {
    // {send_id}/files/{name} or {send_id}/ack
    std::vector<std::string> parts = absl::StrSplit(path.substr(kReceived.size() + 1), '/');
    for (std::string& part : parts) part = PercentDecode(part);
    if (parts.size() == 3 && parts[1] == "files" && method == "GET") {
      auto file = careplan_->ReceivedFile(session, parts[0], parts[2]);
      if (!file.ok()) {
        return SystemError(http::status::not_found, "NOT_FOUND",
                           std::string(file.status().message()));
      }
      return Response{http::status::ok, file->media_type, std::move(file->bytes), false};
    }
    if (parts.size() == 2 && parts[1] == "ack" && method == "POST") {
      result = careplan_->Acknowledge(session, parts[0], &error);
    } else {
      return SystemError(http::status::not_found, "NOT_FOUND",
                         "no such endpoint: " + method + " " + path);
    }
  } else if (path == kRequests && method == "POST") {
    if (!object(&request)) {
      return SystemError(http::status::bad_request, "BAD_REQUEST", "body: not a JSON object");
    }
    result = careplan_->FileRequest(session, request, &error);
  } else if (path.rfind(kRequests + "/", 0) == 0 && method == "GET") {
    result =
        careplan_->GetRequest(session, PercentDecode(path.substr(kRequests.size() + 1)), &error);
  } else {
    return SystemError(http::status::not_found, "NOT_FOUND",
                       "no such endpoint: " + method + " " + path);
  }
  if (!result.ok()) {
    return SystemError(http::status::internal_server_error, "INTERNAL",
                       std::string(result.status().message()));
  }
  if (error) return Business(*error);
  return Json(http::status::ok, *result);
}

}  // namespace kaigo::sandbox

// Beast's string_view is std::string_view here (this file is the only one including Beast).
#define BOOST_BEAST_USE_STD_STRING_VIEW 1

#include "engine/server/connect_server.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/config/config_loader.h"
#include "engine/server/call_reactor.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "google/rpc/status.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/loopback.h"

namespace kaigo::engine {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
namespace pb = google::protobuf;

namespace {

constexpr char kTypeUrlPrefix[] = "type.googleapis.com";
// A client has this long to send a request (or its TLS handshake), and to take each piece of
// what the engine writes; an idle kept-alive connection is closed after it.
constexpr auto kIoTimeout = std::chrono::seconds(30);
constexpr int kThreads = 2;

// Connect's name and HTTP status for each gRPC code (connectrpc.com/docs/protocol#error-codes).
struct ConnectCode {
  const char* name;
  http::status http;
};
constexpr ConnectCode kCodes[] = {
    {"ok", http::status::ok},
    {"canceled", static_cast<http::status>(499)},
    {"unknown", http::status::internal_server_error},
    {"invalid_argument", http::status::bad_request},
    {"deadline_exceeded", http::status::gateway_timeout},
    {"not_found", http::status::not_found},
    {"already_exists", http::status::conflict},
    {"permission_denied", http::status::forbidden},
    {"resource_exhausted", http::status::too_many_requests},
    {"failed_precondition", http::status::bad_request},
    {"aborted", http::status::conflict},
    {"out_of_range", http::status::bad_request},
    {"unimplemented", http::status::not_implemented},
    {"internal", http::status::internal_server_error},
    {"unavailable", http::status::service_unavailable},
    {"data_loss", http::status::internal_server_error},
    {"unauthenticated", http::status::unauthorized},
};

const ConnectCode& CodeOf(absl::StatusCode code) {
  auto i = static_cast<size_t>(code);
  return i < std::size(kCodes) ? kCodes[i] : kCodes[2];
}

std::string ProtobufError(const pb::util::Status& s) {
  return std::string(s.message().data(), s.message().size());
}

// google.rpc types and the engine's own messages, for the `debug` form of error details.
pb::util::TypeResolver* GeneratedResolver() {
  static pb::util::TypeResolver* resolver = pb::util::NewTypeResolverForDescriptorPool(
      kTypeUrlPrefix, pb::DescriptorPool::generated_pool());
  return resolver;
}

// Connect's JSON error: {"code", "message", "details": [{"type", "value", "debug"}]}, each detail
// the binary message in base64 (unpadded, as Connect writes it) and, where the engine knows its
// type, the same as JSON for people reading it.
nlohmann::ordered_json ErrorJson(const absl::Status& status) {
  nlohmann::ordered_json error = {{"code", CodeOf(status.code()).name}};
  if (!status.message().empty()) error["message"] = std::string(status.message());
  google::rpc::Status details = sdk::StatusDetails(status);
  for (const auto& any : details.details()) {
    std::string value = absl::Base64Escape(any.value());
    while (!value.empty() && value.back() == '=') value.pop_back();
    nlohmann::ordered_json detail = {{"type", any.type_url().substr(any.type_url().rfind('/') + 1)},
                                     {"value", value}};
    std::string debug;
    if (pb::util::BinaryToJsonString(GeneratedResolver(), any.type_url(), any.value(), &debug)
            .ok()) {
      detail["debug"] = nlohmann::ordered_json::parse(debug, nullptr, /*allow_exceptions=*/false);
    }
    error["details"].push_back(std::move(detail));
  }
  return error;
}

std::string Dump(const nlohmann::ordered_json& json) {
  return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// One message in Connect's streaming envelope: flags, 4-byte big-endian length, bytes.
void AppendEnvelope(uint8_t flags, std::string_view message, std::string* out) {
  uint32_t n = static_cast<uint32_t>(message.size());
  char head[5] = {static_cast<char>(flags), static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                  static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(head, sizeof head);
  out->append(message);
}
constexpr uint8_t kEndStream = 0x02;

// JSON ⇄ binary for the messages of one routing table's methods (its descriptor index).
class MessageCodec {
 public:
  explicit MessageCodec(std::shared_ptr<const DescriptorIndex> index)
      : index_(std::move(index)),
        resolver_(pb::util::NewTypeResolverForDescriptorPool(kTypeUrlPrefix, &index_->pool())) {}
  const DescriptorIndex* index() const { return index_.get(); }

  // The type URLs of the request and response of `path` ("/pkg.Service/Method").
  bool Types(const std::string& path, std::string* input, std::string* output) const {
    std::string name = path.substr(1);
    size_t slash = name.find('/');
    if (slash == std::string::npos) return false;
    name[slash] = '.';
    const pb::MethodDescriptor* method = index_->pool().FindMethodByName(name);
    if (method == nullptr) return false;
    *input = absl::StrCat(kTypeUrlPrefix, "/", method->input_type()->full_name());
    *output = absl::StrCat(kTypeUrlPrefix, "/", method->output_type()->full_name());
    return true;
  }
  absl::Status ToBinary(const std::string& type_url, const std::string& json,
                        std::string* binary) const {
    auto s = pb::util::JsonToBinaryString(resolver_.get(), type_url, json, binary);
    if (s.ok()) return absl::OkStatus();
    const std::string type = type_url.substr(type_url.rfind('/') + 1);
    return sdk::WithErrorInfo(
        absl::InvalidArgumentError("the request is not JSON of " + type + ": " + ProtobufError(s)),
        "MALFORMED_REQUEST", {{"message_type", type}});
  }
  absl::Status ToJson(const std::string& type_url, std::string_view binary,
                      std::string* json) const {
    auto s = pb::util::BinaryToJsonString(resolver_.get(), type_url, std::string(binary), json);
    if (s.ok()) return absl::OkStatus();
    return absl::InternalError("the plugin's response does not convert to JSON: " +
                               ProtobufError(s));
  }

 private:
  std::shared_ptr<const DescriptorIndex> index_;
  std::unique_ptr<pb::util::TypeResolver> resolver_;
};

// The request's headers as metadata (HTTP field names are case-insensitive, gRPC's lower case).
class HttpCallHeaders : public CallHeaders {
 public:
  HttpCallHeaders(const http::request<http::string_body>& request, PeerCertificate peer,
                  int64_t deadline_unix_ms)
      : request_(request), peer_(std::move(peer)), deadline_unix_ms_(deadline_unix_ms) {}
  std::string Value(const char* key) const override {
    auto it = request_.find(key);
    return it == request_.end() ? std::string() : std::string(it->value());
  }
  PeerCertificate Peer() const override { return peer_; }
  int64_t DeadlineUnixMs() const override { return deadline_unix_ms_; }

 private:
  const http::request<http::string_body>& request_;
  PeerCertificate peer_;
  int64_t deadline_unix_ms_;
};

// The client certificate of a TLS connection, as gRPC's auth context describes it.
PeerCertificate PeerOf(SSL* ssl) {
  PeerCertificate peer;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return peer;
  X509_NAME* subject = X509_get_subject_name(cert);
  int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at >= 0) {
    ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, cn);
    if (n >= 0) peer.common_name.assign(reinterpret_cast<char*>(utf8), n);
    OPENSSL_free(utf8);
  }
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS || name->type == GEN_URI || name->type == GEN_EMAIL) {
      ASN1_IA5STRING* s = name->d.ia5;
      peer.subject_alt_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                          ASN1_STRING_length(s));
    }
  }
  GENERAL_NAMES_free(names);
  BIO* bio = BIO_new(BIO_s_mem());
  if (PEM_write_bio_X509(bio, cert) == 1) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    peer.pem.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  X509_free(cert);
  return peer;
}

// One call over Connect: CallCore with what the plugin writes collected for the connection,
// which takes it (Take) on its strand when `wake` tells it to.
class ConnectCall : public CallCore {
 public:
  ConnectCall(Engine* engine, const CallHeaders& headers, std::string method,
              std::shared_ptr<const MessageCodec> codec, std::string output_type, bool json,
              bool enveloped, std::function<void()> wake)
      : CallCore(engine, headers, std::move(method)),
        codec_(std::move(codec)),
        output_type_(std::move(output_type)),
        json_(json),
        enveloped_(enveloped),
        wake_(std::move(wake)) {}

  using CallCore::admission;
  using CallCore::CancelPluginCall;
  using CallCore::Dispatch;
  using CallCore::server_streaming;
  using CallCore::Unref;

  struct Output {
    std::string bytes;  // more of the body (enveloped calls), or the whole response (unary)
    bool finished = false;
    absl::Status status;
  };
  Output Take() {
    std::lock_guard<std::mutex> lock(mu_);
    Output out;
    out.bytes.swap(pending_);
    waiting_messages_ = 0;
    out.finished = finished_;
    out.status = final_;
    return out;
  }
  // The client's Connect-Timeout-Ms passed.
  void Expire() {
    End(absl::DeadlineExceededError("the call's Connect-Timeout-Ms passed"));
    CancelPluginCall();
  }

  bool OnWrite(std::string_view message) override {
    std::string converted;
    if (json_ && !codec_->ToJson(output_type_, message, &converted).ok()) return false;
    std::unique_lock<std::mutex> lock(mu_);
    if (finished_ || !ending_.ok() || cancelled_ || !enveloped_) return false;
    int limit = engine_->limiter().limits().stream_queue_messages;
    if (waiting_messages_ >= limit) {
      ending_ = absl::ResourceExhaustedError(
          absl::StrCat("the client reads the stream too slowly: ", limit,
                       " messages were waiting for it (server.call_limits.stream_queue_messages)"));
      return false;
    }
    ++waiting_messages_;
    AppendEnvelope(0, json_ ? std::string_view(converted) : message, &pending_);
    lock.unlock();
    wake_();
    return true;
  }

  void OnFinish(const absl::Status& status, std::string_view response) override {
    Record(status);
    absl::Status final = status;
    std::string body;
    if (status.ok() && !server_streaming()) {
      if (json_) {
        final = codec_->ToJson(output_type_, response, &body);
      } else {
        body.assign(response);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ending_.ok()) final = ending_;  // ended already (slow reader, age, deadline)
      final = ForClient(std::move(final));
      if (enveloped_) {
        if (final.ok() && !body.empty()) AppendEnvelope(0, body, &pending_);
        nlohmann::ordered_json end = nlohmann::ordered_json::object();
        if (!final.ok()) end["error"] = ErrorJson(final);
        AppendEnvelope(kEndStream, Dump(end), &pending_);
      } else if (final.ok()) {
        pending_ = std::move(body);
      }
      final_ = std::move(final);
      finished_ = true;
    }
    wake_();
  }

 protected:
  void EndForAge() override {
    End(absl::UnavailableError(absl::StrCat(
        "the stream reached its maximum age of ", engine_->limiter().limits().watch_max_age_seconds,
        " s (server.call_limits.watch_max_age_seconds); reconnect")));
    CancelPluginCall();
  }

 private:
  void End(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ending_.ok() && !finished_) ending_ = std::move(status);
  }

  std::shared_ptr<const MessageCodec> codec_;
  std::string output_type_;
  bool json_;
  bool enveloped_;
  std::function<void()> wake_;
  // Guarded by mu_:
  std::string pending_;
  int waiting_messages_ = 0;
  absl::Status ending_;
  bool finished_ = false;
  absl::Status final_;
};

// What a request's Content-Type asks for.
struct Wire {
  bool json = false;
  bool enveloped = false;  // Connect's streaming protocol
};

bool ParseContentType(std::string_view value, Wire* wire) {
  std::string type = absl::AsciiStrToLower(std::string(value.substr(0, value.find(';'))));
  absl::StripAsciiWhitespace(&type);
  if (type == "application/json")
    *wire = {true, false};
  else if (type == "application/proto")
    *wire = {false, false};
  else if (type == "application/connect+json")
    *wire = {true, true};
  else if (type == "application/connect+proto")
    *wire = {false, true};
  else
    return false;
  return true;
}

bool IsAllowedHost(std::string_view host, const std::vector<std::string>& allowed) {
  std::string name(host);
  if (!name.empty() && name.front() == '[') {
    name = name.substr(0, name.find(']') + 1);
  } else {
    name = name.substr(0, name.find(':'));
  }
  name = absl::AsciiStrToLower(name);
  if (name == "localhost" || name == "127.0.0.1" || name == "[::1]") return true;
  for (const auto& a : allowed) {
    if (absl::AsciiStrToLower(a) == name) return true;
  }
  return false;
}

}  // namespace

struct ConnectServer::State {
  Engine* engine = nullptr;
  std::unique_ptr<ssl::context> tls;  // null without TLS; outlives the connections using it
  net::io_context io{kThreads};
  std::unique_ptr<tcp::acceptor> acceptor;
  bool loopback = true;
  std::vector<std::string> allowed_hosts;
  std::vector<std::string> allowed_origins;
  size_t max_message = 32 << 20;
  int max_connections = 1024;
  std::atomic<int> open_connections{0};
  // Request bodies held at once, in bytes, against server.max_memory_bytes.
  size_t body_budget = size_t{1} << 30;
  std::atomic<size_t> bodies_held{0};
  std::vector<std::thread> threads;
  std::atomic<int> active_calls{0};

  // Takes `bytes` from the body budget; false (nothing taken) when they do not fit.
  bool HoldBody(size_t bytes) {
    size_t held = bodies_held.load();
    do {
      if (held + bytes > body_budget) return false;
    } while (!bodies_held.compare_exchange_weak(held, held + bytes));
    return true;
  }

  std::mutex codec_mu;
  std::shared_ptr<const MessageCodec> codec;  // for the last routing table seen

  std::shared_ptr<const MessageCodec> CodecFor(
      const std::shared_ptr<const DescriptorIndex>& index) {
    std::lock_guard<std::mutex> lock(codec_mu);
    if (codec == nullptr || codec->index() != index.get()) {
      codec = std::make_shared<MessageCodec>(index);
    }
    return codec;
  }

  void Accept();
};

namespace {

using Request = http::request<http::string_body>;

absl::Status ContentTypeRefused(const std::string& message) {
  return sdk::WithFieldViolation(absl::InvalidArgumentError(message),
                                 {"content-type", "CONTENT_TYPE", message});
}

// A streaming request whose envelope is not one whole message.
absl::Status MalformedEnvelope(const std::string& why) {
  return sdk::WithErrorInfo(absl::InvalidArgumentError(why), "MALFORMED_REQUEST");
}

// One connection: reads a request, answers it (running its call), and reads the next while the
// client keeps the connection. Everything runs on the connection's strand.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(ConnectServer::State* state, Stream stream)
      : state_(state), stream_(std::move(stream)), timer_(stream_.get_executor()) {
    state_->open_connections.fetch_add(1);
  }
  ~Session() {
    ReleaseBody();
    state_->open_connections.fetch_sub(1);
  }

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      Read();
    } else {
      beast::get_lowest_layer(stream_).expires_after(kIoTimeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->peer_ = PeerOf(self->stream_.native_handle());
                                self->Read();
                              });
    }
  }

 private:
  void Read() {
    ReleaseBody();
    parser_.emplace();
    parser_->body_limit(state_->max_message + 5);
    parser_->header_limit(64 * 1024);
    beast::get_lowest_layer(stream_).expires_after(kIoTimeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // The body is read only once the budget holds it: its declared length, or the largest body
  // allowed when it declares none (chunked).
  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    size_t bytes = state_->max_message + 5;
    if (auto length = parser_->content_length(); length.has_value() && *length < bytes) {
      bytes = static_cast<size_t>(*length);
    }
    if (!state_->HoldBody(bytes)) {
      keep_alive_ = false;
      return Refuse(http::status::service_unavailable,
                    absl::ResourceExhaustedError(absl::StrCat(
                        "the engine holds as many request bodies as it may (", state_->body_budget,
                        " bytes, server.max_memory_bytes); try again shortly")));
    }
    body_held_ = bytes;
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void ReleaseBody() {
    state_->bodies_held.fetch_sub(body_held_);
    body_held_ = 0;
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return Refuse(http::status::payload_too_large,
                    absl::ResourceExhaustedError(
                        absl::StrCat("the request is larger than ", state_->max_message,
                                     " bytes (server.max_message_bytes)")));
    }
    if (ec) return Close();
    request_ = parser_->release();
    keep_alive_ = request_.keep_alive();
    Handle();
  }

  // The refusals before any call: the browser defences, the protocol's; then the call starts.
  void Handle() {
    if (!PassesBrowserDefences()) return;
    if (request_.method() == http::verb::options && !cors_origin_.empty()) return Preflight();
    if (request_.method() != http::verb::post) {
      return Refuse(http::status::method_not_allowed,
                    absl::UnimplementedError("methods are called with POST"));
    }
    Method method;
    if (!FindMethod(&method) || !AcceptsWire(method)) return;
    std::string message;
    absl::Status read = ReadMessage(method.input_type, method.codec.get(), &message);
    if (!read.ok()) return Fail(read);
    int64_t deadline = 0;
    int64_t timeout_ms = 0;
    if (!ReadTimeout(&deadline, &timeout_ms)) return;
    auto wake = [self = this->shared_from_this()] {
      net::post(self->stream_.get_executor(), [self] { self->Pump(); });
    };
    call_ = new ConnectCall(state_->engine, HttpCallHeaders(request_, peer_, deadline), method.path,
                            method.codec, method.output_type, wire_.json, wire_.enveloped,
                            std::move(wake));
    state_->active_calls.fetch_add(1);
    if (!call_->admission().ok()) {
      ReleaseCall();
      return Fail(call_admission_);
    }
    if (timeout_ms > 0) {
      timer_.expires_after(std::chrono::milliseconds(timeout_ms));
      timer_.async_wait([self = this->shared_from_this(), call = call_](beast::error_code ec) {
        if (!ec && self->call_ == call) call->Expire();
      });
    }
    request_message_ = std::move(message);
    if (wire_.enveloped) {
      StartStream();
    }
    call_->Dispatch(request_message_);
  }

  // The request's path, the routed method's types and the codec that reads them.
  struct Method {
    std::string path;
    std::string input_type;
    std::string output_type;
    std::shared_ptr<const MessageCodec> codec;
    bool server_streaming = false;
  };

  // Host (on loopback) and Origin against the configured lists; keeps an allowed origin for CORS.
  // False once refused.
  bool PassesBrowserDefences() {
    std::string origin(request_[http::field::origin]);
    if (state_->loopback && !IsAllowedHost(request_[http::field::host], state_->allowed_hosts)) {
      Refuse(http::status::forbidden,
             absl::PermissionDeniedError("Host \"" + std::string(request_[http::field::host]) +
                                         "\" is not this engine's (server.http_allowed_hosts)"));
      return false;
    }
    if (request_.find(http::field::origin) != request_.end()) {
      bool allowed = false;
      for (const auto& o : state_->allowed_origins) {
        allowed = allowed || absl::AsciiStrToLower(o) == absl::AsciiStrToLower(origin);
      }
      if (!allowed) {
        Refuse(http::status::forbidden,
               absl::PermissionDeniedError("Origin \"" + origin +
                                           "\" may not call this engine "
                                           "(server.http_allowed_origins)"));
        return false;
      }
      cors_origin_ = origin;
    }
    return true;
  }

  // The served method the path names. False once refused.
  bool FindMethod(Method* method) {
    std::string& path = method->path;
    path = std::string(request_.target().substr(0, request_.target().find('?')));
    auto table = state_->engine->table();
    if (table == nullptr) {
      Refuse(http::status::service_unavailable,
             absl::UnavailableError("the engine is shutting down"));
      return false;
    }
    auto route = table->methods.find(path);
    std::shared_ptr<const MessageCodec>& codec = method->codec;
    if (route != table->methods.end() && table->descriptors != nullptr) {
      codec = state_->CodecFor(table->descriptors);
    }
    if (codec == nullptr || !codec->Types(path, &method->input_type, &method->output_type)) {
      Refuse(http::status::not_found,
             absl::UnimplementedError("no method " + path + " is served here"));
      return false;
    }
    method->server_streaming = route->second.server_streaming;
    return true;
  }

  // Content-Type (unary or enveloped, as the method is), the protocol version and the encodings;
  // sets wire_. False once refused.
  bool AcceptsWire(const Method& method) {
    const std::string& path = method.path;
    Wire wire;
    if (!ParseContentType(request_[http::field::content_type], &wire)) {
      Refuse(
          http::status::unsupported_media_type,
          ContentTypeRefused("Content-Type must be application/json or application/proto (unary), "
                             "application/connect+json or application/connect+proto (streaming)"));
      return false;
    }
    if (wire.enveloped != method.server_streaming) {
      Refuse(http::status::unsupported_media_type,
             ContentTypeRefused(path +
                                (method.server_streaming
                                     ? " streams: use application/connect+json or +proto"
                                     : " is unary: use application/json or application/proto")));
      return false;
    }
    wire_ = wire;
    if (!wire.enveloped) {
      // Required for unary calls, as the protocol advises: a cross-site form cannot send it.
      if (request_["connect-protocol-version"] != "1") {
        Refuse(http::status::bad_request,
               sdk::WithFieldViolation(
                   absl::InvalidArgumentError("header Connect-Protocol-Version: 1 is missing"),
                   {"connect-protocol-version", "REQUIRED", "must be 1"}));
        return false;
      }
      std::string encoding(request_[http::field::content_encoding]);
      if (!encoding.empty() && encoding != "identity") {
        Refuse(http::status::not_implemented,
               absl::UnimplementedError("Content-Encoding " + encoding + " is not served"));
        return false;
      }
    } else {
      std::string encoding(request_["connect-content-encoding"]);
      if (!encoding.empty() && encoding != "identity") {
        Fail(absl::UnimplementedError("Connect-Content-Encoding " + encoding + " is not served"));
        return false;
      }
    }
    return true;
  }

  // Connect-Timeout-Ms, if sent: the deadline (milliseconds since the epoch) and the timeout.
  // False once refused.
  bool ReadTimeout(int64_t* deadline, int64_t* timeout_ms) {
    std::string timeout(request_["connect-timeout-ms"]);
    if (!timeout.empty()) {
      if (timeout.size() > 10 || !absl::SimpleAtoi(timeout, timeout_ms) || *timeout_ms < 0) {
        Refuse(http::status::bad_request,
               sdk::WithFieldViolation(
                   absl::InvalidArgumentError("Connect-Timeout-Ms: at most 10 digits"),
                   {"connect-timeout-ms", "TIMEOUT", "at most 10 digits"}));
        return false;
      }
      *deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count() +
                  *timeout_ms;
    }
    return true;
  }

  // The request's message, binary: JSON converted; for streaming, the one enveloped message.
  absl::Status ReadMessage(const std::string& type, const MessageCodec* codec, std::string* out) {
    std::string_view body = request_.body();
    if (wire_.enveloped) {
      if (body.size() < 5) return MalformedEnvelope("the request carries no message");
      auto b = reinterpret_cast<const unsigned char*>(body.data());
      uint32_t n = (uint32_t{b[1]} << 24) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 8) | b[4];
      if (b[0] != 0) {
        return absl::UnimplementedError("a compressed or flagged request message is not served");
      }
      if (body.size() != 5 + size_t{n}) {
        return MalformedEnvelope("a server-streaming call carries exactly one message");
      }
      body.remove_prefix(5);
    }
    if (!wire_.json) {
      out->assign(body);
      return absl::OkStatus();
    }
    return codec->ToBinary(type, std::string(body), out);
  }

  // Moves what the call has produced to the client.
  void Pump() {
    if (call_ == nullptr || writing_) return;
    ConnectCall::Output out = call_->Take();
    if (broken_) {
      if (out.finished) {
        ReleaseCall();
        Close();
      }
      return;
    }
    if (!wire_.enveloped) {
      if (!out.finished) return;
      ReleaseCall();
      if (!out.status.ok()) return Fail(out.status);
      auto response = NewResponse(http::status::ok);
      response->set(http::field::content_type,
                    wire_.json ? "application/json" : "application/proto");
      response->body() = std::move(out.bytes);
      return Write(std::move(response));
    }
    chunk_ = std::move(out.bytes);
    finished_ = out.finished;
    writing_ = true;
    beast::get_lowest_layer(stream_).expires_after(kIoTimeout);
    auto done = [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (ec) {
        self->broken_ = true;
        self->keep_alive_ = false;
        self->call_->CancelPluginCall();
      }
      if (self->finished_ && !self->broken_) {
        self->ReleaseCall();
        return self->Next();
      }
      self->Pump();
    };
    if (finished_) {
      net::async_write(
          stream_,
          beast::buffers_cat(http::make_chunk(net::buffer(chunk_)), http::make_chunk_last()),
          std::move(done));
    } else if (!chunk_.empty()) {
      net::async_write(stream_, http::make_chunk(net::buffer(chunk_)), std::move(done));
    } else {
      writing_ = false;
    }
  }

  // A streaming response's head (200, chunked): its messages and its end follow in Pump.
  void StartStream() {
    stream_head_.emplace(http::status::ok, request_.version());
    stream_head_->set(http::field::content_type,
                      wire_.json ? "application/connect+json" : "application/connect+proto");
    AddCors(&*stream_head_);
    stream_head_->keep_alive(keep_alive_);
    stream_head_->chunked(true);
    head_serializer_.emplace(*stream_head_);
    writing_ = true;
    beast::get_lowest_layer(stream_).expires_after(kIoTimeout);
    http::async_write_header(stream_, *head_serializer_,
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               self->writing_ = false;
                               if (ec) {
                                 self->broken_ = true;
                                 self->keep_alive_ = false;
                                 self->call_->CancelPluginCall();
                               }
                               self->Pump();
                             });
  }

  std::shared_ptr<http::response<http::string_body>> NewResponse(http::status status) {
    auto response = std::make_shared<http::response<http::string_body>>(status, request_.version());
    response->keep_alive(keep_alive_);
    AddCors(response.get());
    return response;
  }

  template <class Message>
  void AddCors(Message* m) {
    if (cors_origin_.empty()) return;
    m->set(http::field::access_control_allow_origin, cors_origin_);
    m->set(http::field::vary, "Origin");
  }

  void Preflight() {
    auto response = NewResponse(http::status::no_content);
    response->set(http::field::access_control_allow_methods, "POST");
    response->set(http::field::access_control_allow_headers,
                  request_[http::field::access_control_request_headers]);
    response->set(http::field::access_control_max_age, "7200");
    Write(std::move(response));
  }

  // A refusal of the request itself (not a call's error): HTTP status and Connect's JSON error.
  void Refuse(http::status status, const absl::Status& error) {
    auto response = NewResponse(status);
    response->set(http::field::content_type, "application/json");
    response->body() = Dump(ErrorJson(ForClient(error)));
    if (status == http::status::method_not_allowed) response->set(http::field::allow, "POST");
    Write(std::move(response));
  }

  // A call's error, before or instead of its response: a unary call's as its HTTP status and
  // JSON body; a streaming call's in an end-of-stream message after status 200, where Connect's
  // clients read its details.
  void Fail(const absl::Status& error) {
    if (!wire_.enveloped) return Refuse(CodeOf(error.code()).http, error);
    auto response = NewResponse(http::status::ok);
    response->set(http::field::content_type,
                  wire_.json ? "application/connect+json" : "application/connect+proto");
    nlohmann::ordered_json end = {{"error", ErrorJson(ForClient(error))}};
    AppendEnvelope(kEndStream, Dump(end), &response->body());
    Write(std::move(response));
  }

  void Write(std::shared_ptr<http::response<http::string_body>> response) {
    response->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(kIoTimeout);
    http::async_write(stream_, *response,
                      [self = this->shared_from_this(), response](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        self->Next();
                      });
  }

  void Next() {
    wire_ = Wire();
    cors_origin_.clear();
    stream_head_.reset();
    head_serializer_.reset();
    finished_ = broken_ = false;
    if (keep_alive_) return Read();
    Close();
  }

  void ReleaseCall() {
    if (call_ == nullptr) return;
    timer_.cancel();
    call_admission_ = call_->admission();
    call_->Unref();
    call_ = nullptr;
    state_->active_calls.fetch_sub(1);
  }

  void Close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  ConnectServer::State* state_;
  Stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  PeerCertificate peer_;
  Wire wire_;
  bool keep_alive_ = false;
  std::string cors_origin_;
  ConnectCall* call_ = nullptr;  // holds a reference until released
  absl::Status call_admission_;
  std::string request_message_;  // what the plugin reads until it finishes
  std::optional<http::response<http::empty_body>> stream_head_;
  std::optional<http::response_serializer<http::empty_body>> head_serializer_;
  std::string chunk_;
  size_t body_held_ = 0;  // of the body budget, for the request being answered
  bool writing_ = false;
  bool finished_ = false;
  bool broken_ = false;  // the client went away: the call is cancelled, its output dropped
};

}  // namespace

void ConnectServer::State::Accept() {
  acceptor->async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec && open_connections.load() >= max_connections) {
      beast::error_code ignored;
      socket.close(ignored);  // over server.http_max_connections
    } else if (!ec) {
      if (tls != nullptr) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
            this, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls))
            ->Start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(this, beast::tcp_stream(std::move(socket)))
            ->Start();
      }
    }
    Accept();
  });
}

ConnectServer::ConnectServer(Engine* engine) : engine_(engine) {}

ConnectServer::~ConnectServer() { Stop(); }

absl::StatusOr<int> ConnectServer::Start() {
  const auto& server = engine_->running_config().server();
  auto state = std::make_shared<State>();
  state->engine = engine_;
  std::string host;
  int port = 0;
  if (!ParseHostPort(server.http_listen(), &host, &port)) {
    return absl::InvalidArgumentError("server.http_listen: not host:port");
  }
  state->loopback = IsLoopbackHost(host);
  state->allowed_hosts.assign(server.http_allowed_hosts().begin(),
                              server.http_allowed_hosts().end());
  state->allowed_origins.assign(server.http_allowed_origins().begin(),
                                server.http_allowed_origins().end());
  if (server.max_message_bytes() > 0) state->max_message = server.max_message_bytes();
  if (server.http_max_connections() > 0) state->max_connections = server.http_max_connections();
  if (server.max_memory_bytes() > 0) state->body_budget = server.max_memory_bytes();
  if (!server.insecure_loopback()) {
    const std::string& dir = engine_->config_dir();
    state->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    beast::error_code ec;
    state->tls->set_options(ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                            ssl::context::no_sslv2 | ssl::context::no_sslv3);
    state->tls->use_certificate_chain_file(ResolvePath(dir, server.tls().cert_file()), ec);
    if (!ec) {
      state->tls->use_private_key_file(ResolvePath(dir, server.tls().key_file()), ssl::context::pem,
                                       ec);
    }
    if (!ec && !server.tls().client_ca_file().empty()) {
      state->tls->load_verify_file(ResolvePath(dir, server.tls().client_ca_file()), ec);
      state->tls->set_verify_mode(
          ssl::verify_peer |
          (server.tls().require_client_certificate() ? ssl::verify_fail_if_no_peer_cert : 0));
    }
    if (ec) return absl::UnavailableError("server.http_listen: TLS: " + ec.message());
  }
  beast::error_code ec;
  auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return absl::InvalidArgumentError("server.http_listen: " + ec.message());
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  state->acceptor = std::make_unique<tcp::acceptor>(state->io);
  state->acceptor->open(endpoint.protocol(), ec);
  if (!ec) state->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor->bind(endpoint, ec);
  if (!ec) state->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError("cannot listen for HTTP on " + server.http_listen() + ": " +
                                  ec.message());
  }
  int bound = state->acceptor->local_endpoint().port();
  state->Accept();
  for (int i = 0; i < kThreads; ++i) {
    state->threads.emplace_back([s = state.get()] { s->io.run(); });
  }
  state_ = std::move(state);
  return bound;
}

void ConnectServer::Stop() {
  if (state_ == nullptr) return;
  net::post(state_->io, [s = state_.get()] {
    beast::error_code ec;
    s->acceptor->close(ec);
  });
  // Calls in flight have their plugins' finish to wait for, as gRPC's drain does.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (state_->active_calls.load() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  state_->io.stop();
  for (auto& t : state_->threads) t.join();
  if (state_->active_calls.load() > 0) {
    // A plugin that has not finished still holds its call, which would post to the io_context:
    // it is left for the process's end rather than freed under the plugin.
    new std::shared_ptr<State>(std::move(state_));
  }
  state_.reset();
}

}  // namespace kaigo::engine

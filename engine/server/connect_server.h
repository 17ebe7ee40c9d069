// The Connect protocol (connectrpc.com/docs/protocol) over HTTP/1.1 on `server.http_listen`: every
// plugin method the engine routes, on the gRPC paths (POST /kaigo.v1.QualificationService/…),
// unary (application/json, application/proto) and server streaming (application/connect+json,
// application/connect+proto: enveloped messages and an end-of-stream message), so a care system
// can call the engine with curl. A call goes through the same CallCore as a gRPC call (admission
// by office, caller and role; call limits; metrics; access log; the plugin call itself); only the
// transport differs. Errors are Connect's JSON form with the google.rpc details a plugin attached.
//
// TLS and client certificates as on `server.listen` (the same files). Browsers cannot drive it
// from another site: methods take POST only; a request with an Origin header is refused unless
// `server.http_allowed_origins` lists it; on a loopback listener a Host other than localhost,
// 127.0.0.1, [::1] or one of `server.http_allowed_hosts` is refused (DNS rebinding). Bodies are
// bounded by `server.max_message_bytes`; a client that sends or reads too slowly is cut off.
//
// Boost.Beast on an Asio io_context with two threads; each connection runs on its own strand and
// plugin threads only post to it. Start and Stop are not thread-safe with each other.
#ifndef KAIGO_ENGINE_SERVER_CONNECT_SERVER_H_
#define KAIGO_ENGINE_SERVER_CONNECT_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/engine.h"

namespace kaigo::engine {

class ConnectServer {
 public:
  explicit ConnectServer(Engine* engine);
  ~ConnectServer();

  // Listens on `server.http_listen` of the running configuration; returns the bound port.
  absl::StatusOr<int> Start();
  // Stops accepting, closes every connection and joins the threads; calls in flight are
  // cancelled.
  void Stop();

  struct State;  // connect_server.cc

 private:
  Engine* engine_;
  std::shared_ptr<State> state_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_SERVER_CONNECT_SERVER_H_

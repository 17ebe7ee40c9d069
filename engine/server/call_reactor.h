// Serves plugin method calls over gRPC's callback API. Each call is admitted (method, office,
// caller), its request handed to the routed plugin instance, what the plugin writes streamed back,
// and its status sent when the plugin finishes. Nothing here blocks: the plugin runs the call on
// its own schedule and reports back from any thread.
//
// Methods the routing table holds at start are registered as raw callback methods (unary or
// server-streaming, ByteBuffer messages) — gRPC's cheapest path. Methods that arrive later with a
// reload or swap are served through the callback generic service (a bidi stream per call, which
// costs more). Both share CallCore.
//
// Lifetime: gRPC holds a reactor until OnDone; the dispatch holds it while the plugin call starts.
// A reactor deletes itself when both have let go.
#ifndef KAIGO_ENGINE_SERVER_CALL_REACTOR_H_
#define KAIGO_ENGINE_SERVER_CALL_REACTOR_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/router/caller_identity.h"
#include "kaigo/sdk/internal/host_side.h"

namespace kaigo::engine {

// The identity of the peer under `table`'s callers (engine/router/caller_identity.h): its client
// certificate's common name or a subject alternative name, or "anonymous"; refused when the
// certificate names no one, is revoked, or is not the one pinned for its name.
absl::StatusOr<std::string> CallerIdentity(const RoutingTable& table, const PeerCertificate& peer);
absl::StatusOr<std::string> CallerIdentity(const RoutingTable& table,
                                           const grpc::ServerContextBase& context);
// The value of metadata `key`, or "".
std::string MetadataValue(const grpc::ServerContextBase& context, const char* key);

// What a transport (gRPC, or Connect over HTTP: connect_server.h) tells the engine about one call.
class CallHeaders {
 public:
  virtual ~CallHeaders() = default;
  // The value of metadata `key` (lower case, e.g. "x-kaigo-office"), or "".
  virtual std::string Value(const char* key) const = 0;
  // The client certificate the peer presented (empty without one).
  virtual PeerCertificate Peer() const = 0;
  // The call's deadline in Unix milliseconds; 0 for none.
  virtual int64_t DeadlineUnixMs() const = 0;
};

// A status as a client receives it: UNAVAILABLE and RESOURCE_EXHAUSTED say when to retry even
// where the part that refused the call did not.
absl::Status ForClient(absl::Status status);

// What every kind of call shares, whatever its transport: admission, dispatch to the plugin,
// cancellation, metrics and the access log.
class CallCore : public sdk::host::CallSink {
 public:
  ~CallCore() override;

 protected:
  CallCore(Engine* engine, const grpc::ServerContextBase& context, std::string method);
  CallCore(Engine* engine, const CallHeaders& headers, std::string method);

  // OK when admitted; otherwise the refusal (already counted).
  const absl::Status& admission() const { return admitted_; }
  bool server_streaming() const { return server_streaming_; }
  // Hands the request's bytes to the plugin and empties *request: the plugin parses its own copy
  // inside the call, so a call waiting for a worker holds its request once, not twice. gRPC keeps
  // the buffer of a registered method until the call is done but never reads it again.
  void Dispatch(grpc::ByteBuffer* request);
  // The same for a request the transport holds until the plugin has finished.
  void Dispatch(std::string_view request);
  void CancelPluginCall();
  // Metrics and the access log for a finished call.
  void Record(const absl::Status& status);
  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  // Deletes the reactor when the last holder lets go.
  void Unref();

  // Ends a watch stream at server.call_limits.watch_max_age_seconds; called on the timer thread.
  virtual void EndForAge() {}
  // For streaming methods named Watch…: arms EndForAge. OnDone must call DisarmAge.
  void ArmAgeLimit();
  void DisarmAge();

  Engine* engine_;
  std::mutex mu_;
  bool cancelled_ = false;

 private:
  bool limited_ = false;  // holds a slot of the engine's CallLimiter
  uint64_t age_timer_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::atomic<int> refs_{1};  // gRPC's, until OnDone
  sdk::host::CallContext context_;
  Admission target_;
  absl::Status admitted_;
  bool server_streaming_ = false;
  bool access_log_ = false;
  kaigo_call* call_ = nullptr;  // guarded by mu_
};

// A unary method registered at start.
class UnaryCallReactor : public grpc::ServerUnaryReactor, public CallCore {
 public:
  UnaryCallReactor(Engine* engine, grpc::CallbackServerContext* context, std::string method,
                   const grpc::ByteBuffer* request, grpc::ByteBuffer* response);
  void OnCancel() override { CancelPluginCall(); }
  void OnDone() override { Unref(); }
  bool OnWrite(std::string_view message) override;
  void OnFinish(const absl::Status& status, std::string_view response) override;

 protected:
  // Our reactions never block (OnDone drops references; a plugin instance's destroy goes to the
  // reaper thread; the ABI forbids blocking in call_cancel), so gRPC may run them inline instead
  // of hopping to an executor thread for every call.
  bool InternalInlineable() override { return true; }

 private:
  grpc::ByteBuffer* response_;
};

// A server-streaming method registered at start (Base = ServerWriteReactor<ByteBuffer>), or any
// method through the generic service (Base = ServerGenericBidiReactor, which reads the request
// first and carries a unary response as one message).
template <class Base>
class StreamCallReactor : public Base, public CallCore {
 public:
  StreamCallReactor(Engine* engine, grpc::CallbackServerContext* context, std::string method,
                    const grpc::ByteBuffer* request);
  void OnReadDone(bool ok);
  void OnWriteDone(bool ok) override;
  void OnCancel() override { CancelPluginCall(); }
  void OnDone() override {
    DisarmAge();
    Unref();
  }
  bool OnWrite(std::string_view message) override;
  void OnFinish(const absl::Status& status, std::string_view response) override;

 protected:
  bool InternalInlineable() override { return true; }  // as UnaryCallReactor's
  void EndForAge() override;

 private:
  void FinishLocked(std::unique_lock<std::mutex>& lock, const grpc::Status& status);
  // Finishes with `status` once the write in progress is done (or at once), dropping queued ones.
  void EndLocked(std::unique_lock<std::mutex>& lock, const grpc::Status& status);
  grpc::ByteBuffer request_;
  bool finished_ = false;  // Finish was called on gRPC
  bool writing_ = false;
  std::deque<grpc::ByteBuffer> writes_;
  bool finish_pending_ = false;
  grpc::Status pending_status_;
};

class GenericCallReactor : public StreamCallReactor<grpc::ServerGenericBidiReactor> {
 public:
  GenericCallReactor(Engine* engine, grpc::GenericCallbackServerContext* context)
      : StreamCallReactor(engine, context, context->method(), nullptr) {}
  void OnReadDone(bool ok) override { StreamCallReactor::OnReadDone(ok); }
};

class EngineGenericService : public grpc::CallbackGenericService {
 public:
  explicit EngineGenericService(Engine* engine) : engine_(engine) {}
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new GenericCallReactor(engine_, context);
  }

 private:
  Engine* engine_;
};

// Every plugin method of the routing table at start, as raw callback methods.
class PluginMethodService : public grpc::Service {
 public:
  PluginMethodService(Engine* engine, const RoutingTable& table);
  bool empty() const { return names_.empty(); }

 private:
  std::deque<std::string> names_;  // gRPC keeps pointers to these
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_SERVER_CALL_REACTOR_H_

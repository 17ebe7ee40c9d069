// Serves one plugin method call through gRPC's callback generic service: admits the call (office,
// caller, route), reads the request, hands it to the plugin instance, streams what the plugin
// writes and finishes with its status. Nothing here blocks: the plugin runs the call on its own
// schedule and reports back from any thread.
//
// Lifetime: gRPC holds the reactor until OnDone; the dispatch holds it while the plugin call is
// being started. The object deletes itself when both have let go.
#ifndef KAIGO_ENGINE_SERVER_CALL_REACTOR_H_
#define KAIGO_ENGINE_SERVER_CALL_REACTOR_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>

#include "engine/engine.h"
#include "kaigo/sdk/host_side.h"

namespace kaigo::engine {

// The identity of the peer: its client certificate's common name, or "anonymous".
std::string CallerIdentity(const grpc::ServerContextBase& context);

class CallReactor : public grpc::ServerGenericBidiReactor, public sdk::host::CallSink {
 public:
  CallReactor(grpc::GenericCallbackServerContext* context, Engine* engine);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  bool OnWrite(std::string_view message) override;
  void OnFinish(const absl::Status& status, std::string_view response) override;

 private:
  void Refuse(const absl::Status& status);
  void Unref();
  void FinishLocked(std::unique_lock<std::mutex>& lock, const grpc::Status& status);

  grpc::GenericCallbackServerContext* context_;
  Engine* engine_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<int> refs_{1};  // gRPC's, until OnDone
  sdk::host::CallContext call_context_;
  Admission admission_;
  bool server_streaming_ = false;
  bool access_log_ = false;
  grpc::ByteBuffer request_;

  std::mutex mu_;
  kaigo_call* call_ = nullptr;
  bool cancelled_ = false;
  bool finished_ = false;             // Finish was called on gRPC
  bool writing_ = false;
  std::deque<grpc::ByteBuffer> writes_;
  bool finish_pending_ = false;
  grpc::Status pending_status_;
};

class EngineGenericService : public grpc::CallbackGenericService {
 public:
  explicit EngineGenericService(Engine* engine) : engine_(engine) {}
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new CallReactor(context, engine_);
  }

 private:
  Engine* engine_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_SERVER_CALL_REACTOR_H_

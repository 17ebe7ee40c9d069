// The base class of a plugin instance: the object that serves one office. A plugin derives from
// Instance, registers a handler per method in its constructor (or a factory), and the SDK turns
// calls from the host into typed handler invocations.
//
//   class OtpRelay : public kaigo::sdk::Instance {
//    public:
//     OtpRelay(kaigo::sdk::HostServices host) : Instance(std::move(host)) {
//       Unary<ProvideOtpRequest, ProvideOtpResponse>(
//           "/kaigo.v1.OtpService/ProvideOtp",
//           [this](const ProvideOtpRequest& req, auto call) { call->Finish(Provide(req)); });
//     }
//   };
//
// Handlers registered with Unary/ServerStreaming run on the host's RPC threads and must not block:
// finish at once or later from another thread. BlockingUnary handlers run on the instance's worker
// pool and may block (upstream I/O, the store). A request that does not parse is answered
// INVALID_ARGUMENT before any handler runs; an exception escaping a handler becomes INTERNAL.
// Registration is not thread-safe and must end before the instance is returned to the host.
#ifndef KAIGO_SDK_INSTANCE_H_
#define KAIGO_SDK_INSTANCE_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "kaigo/plugin.h"
#include "kaigo/sdk/call.h"
#include "kaigo/sdk/host_services.h"
#include "kaigo/sdk/request_once.h"
#include "kaigo/sdk/response.h"
#include "kaigo/sdk/worker_pool.h"

namespace kaigo::sdk {

namespace internal {
class Dispatcher;
// Checks that `method` exists in the generated pool and takes Req / returns Resp.
absl::Status CheckMethodTypes(std::string_view method, const google::protobuf::Descriptor* req,
                              const google::protobuf::Descriptor* resp, bool server_streaming);
}  // namespace internal

class Instance {
 public:
  explicit Instance(HostServices host);
  virtual ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  const HostServices& host() const { return host_; }
  // The first registration error (a method not in the plugin's services, wrong message types);
  // the SDK refuses to create an instance that has one.
  const absl::Status& registration_status() const { return registration_status_; }

 protected:
  template <class Req, class Resp>
  void Unary(std::string method,
             std::function<void(const Req&, std::shared_ptr<UnaryCall<Resp>>)> handler) {
    Register<Req, Resp, UnaryCall<Resp>>(std::move(method), false, std::move(handler));
  }

  template <class Req, class Resp>
  void ServerStreaming(
      std::string method,
      std::function<void(const Req&, std::shared_ptr<ServerStream<Resp>>)> handler) {
    Register<Req, Resp, ServerStream<Resp>>(std::move(method), true, std::move(handler));
  }

  // The handler runs on the instance's worker pool and returns the response.
  template <class Req, class Resp>
  void BlockingUnary(std::string method,
                     std::function<absl::StatusOr<Resp>(const Req&, const CallBase&)> handler) {
    // The parsed request moves to the worker: a 32 MiB request is not copied on the way.
    Register<Req, Resp, UnaryCall<Resp>>(
        std::move(method), false,
        [this, handler = std::move(handler)](Req&& req, std::shared_ptr<UnaryCall<Resp>> call) {
          bool queued = Workers().Submit([req = std::move(req), call, handler] {
            if (call->IsCancelled()) {
              call->Finish(absl::CancelledError("the caller cancelled"));
              return;
            }
            RunGuarded(*call, [&] { call->Finish(handler(req, *call)); });
          });
          if (!queued) {
            call->Finish(absl::ResourceExhaustedError(
                "the plugin has too many calls waiting for a worker; try again shortly"));
          }
        });
  }

  // BlockingUnary for a member `handler` of the plugin's class Self that answers with the resource
  // its method's response carries in the field `mutable_field` names, e.g.
  //   BlockingAnswer(kService + "GetFlow", &Portal::Get, &v1::GetFlowResponse::mutable_flow);
  // A request with a `request_id` field is done once per request_id (RequestOnce).
  template <class Self, class Req, class Resp, class T>
  void BlockingAnswer(std::string method,
                      absl::StatusOr<T> (Self::*handler)(const Req&, const CallBase&),
                      T* (Resp::*mutable_field)()) {
    Self* self = static_cast<Self*>(this);
    std::string path = method;
    BlockingUnary<Req, Resp>(std::move(method), [self, handler, mutable_field, path](
                                                    const Req& req, const CallBase& call) {
      return RequestOnce<Resp>(self->host(), path, req, [&]() -> absl::StatusOr<Resp> {
        return AnswerIn((self->*handler)(req, call), mutable_field);
      });
    });
  }

  // Serves `method` (unary or server-streaming, any of the plugin's services) without parsing its
  // messages: the handler gets the request's bytes and answers with bytes.
  void Forward(std::string method,
               std::function<void(std::string_view request, std::shared_ptr<RawCall>)> handler);

  // The pool BlockingUnary uses; threads start on demand. Call SetMaxWorkers, if at all, before
  // the first call (in the constructor): it bounds how many handlers may block at once. Default 4.
  WorkerPool& Workers();
  void SetMaxWorkers(int max_threads) { max_workers_ = max_threads; }

 private:
  friend class internal::Dispatcher;
  using RawHandler =
      std::function<void(kaigo_call*, const kaigo_call_info&, kaigo_bytes, void** call_ctx)>;

  template <class Req, class Resp, class Call, class Handler>
  void Register(std::string method, bool streaming, Handler handler);
  void AddHandler(std::string method, absl::Status types_ok, RawHandler handler);
  static void FinishUnparsable(const kaigo_host_api* api, kaigo_call* call,
                               const google::protobuf::Descriptor* type);
  static void Adopt(const std::shared_ptr<CallBase>& call, void** call_ctx);
  static void RunGuarded(CallBase& call, const std::function<void()>& body);
  // Runs what is queued and joins the pool while the derived instance still exists.
  void StopWorkers() { workers_.reset(); }

  HostServices host_;
  absl::Status registration_status_;
  std::unordered_map<std::string, RawHandler> handlers_;
  std::once_flag workers_once_;
  int max_workers_ = 4;
  std::unique_ptr<WorkerPool> workers_;
};

template <class Req, class Resp, class Call, class Handler>
void Instance::Register(std::string method, bool streaming, Handler handler) {
  absl::Status types_ok =
      internal::CheckMethodTypes(method, Req::descriptor(), Resp::descriptor(), streaming);
  const kaigo_host_api* api = host_.api();
  AddHandler(std::move(method), std::move(types_ok),
             [api, handler = std::move(handler)](kaigo_call* c, const kaigo_call_info& info,
                                                 kaigo_bytes request, void** call_ctx) {
               Req req;
               if (!req.ParseFromArray(request.data, static_cast<int>(request.size))) {
                 FinishUnparsable(api, c, Req::descriptor());
                 return;
               }
               auto call = std::make_shared<Call>(api, c, CallInfo::From(info));
               Adopt(call, call_ctx);
               RunGuarded(*call, [&] { handler(std::move(req), call); });
             });
}

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_INSTANCE_H_

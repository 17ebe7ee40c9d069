#include "kaigo/sdk/instance.h"

#include <exception>

#include "google/protobuf/descriptor.h"
#include "kaigo/sdk/abi.h"

namespace kaigo::sdk {

namespace internal {

absl::Status CheckMethodTypes(std::string_view method, const google::protobuf::Descriptor* req,
                              const google::protobuf::Descriptor* resp, bool server_streaming) {
  // "/package.Service/Method"
  size_t slash = method.rfind('/');
  if (method.empty() || method[0] != '/' || slash == 0 || slash == std::string_view::npos) {
    return absl::InvalidArgumentError("'" + std::string(method) +
                                      "' is not a method path of the form /package.Service/Method");
  }
  std::string service_name(method.substr(1, slash - 1));
  std::string method_name(method.substr(slash + 1));
  const auto* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_name);
  if (service == nullptr) {
    return absl::NotFoundError("service " + service_name + " is not linked into the plugin");
  }
  const auto* m = service->FindMethodByName(method_name);
  if (m == nullptr) return absl::NotFoundError(std::string(method) + " does not exist");
  if (m->input_type() != req || m->output_type() != resp) {
    return absl::InvalidArgumentError(std::string(method) + " takes " +
                                      m->input_type()->full_name() + " and returns " +
                                      m->output_type()->full_name());
  }
  if (m->client_streaming() || m->server_streaming() != server_streaming) {
    return absl::InvalidArgumentError(std::string(method) + " is registered with the wrong " +
                                      "streaming kind");
  }
  return absl::OkStatus();
}

}  // namespace internal

Instance::Instance(HostServices host) : host_(std::move(host)) {}

Instance::~Instance() = default;

WorkerPool& Instance::Workers() {
  std::call_once(workers_once_, [this] { workers_ = std::make_unique<WorkerPool>(max_workers_); });
  return *workers_;
}

void Instance::AddHandler(std::string method, absl::Status types_ok, RawHandler handler) {
  if (!types_ok.ok() && registration_status_.ok()) registration_status_ = types_ok;
  handlers_[std::move(method)] = std::move(handler);
}

void Instance::Forward(
    std::string method,
    std::function<void(std::string_view request, std::shared_ptr<RawCall>)> handler) {
  size_t slash = method.rfind('/');
  const auto* service = slash == std::string::npos || slash == 0
                            ? nullptr
                            : google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
                                  method.substr(1, slash - 1));
  absl::Status exists =
      service != nullptr && service->FindMethodByName(method.substr(slash + 1)) != nullptr
          ? absl::OkStatus()
          : absl::NotFoundError(method + " is not a method of a service linked into the plugin");
  const kaigo_host_api* api = host_.api();
  AddHandler(std::move(method), std::move(exists),
             [api, handler = std::move(handler)](kaigo_call* c, const kaigo_call_info& info,
                                                 kaigo_bytes request, void** call_ctx) {
               auto call = std::make_shared<RawCall>(api, c, CallInfo::From(info));
               Adopt(call, call_ctx);
               std::string_view bytes(reinterpret_cast<const char*>(request.data), request.size);
               RunGuarded(*call, [&] { handler(bytes, call); });
             });
}

void Instance::FinishUnparsable(const kaigo_host_api* api, kaigo_call* call,
                                const google::protobuf::Descriptor* type) {
  std::string message = "request: not a valid " + type->full_name() + " (protobuf parse failed)";
  kaigo_status status{KAIGO_CODE_INVALID_ARGUMENT, ToStr(message), kaigo_bytes{nullptr, 0}};
  api->call_finish(call, &status, kaigo_bytes{nullptr, 0});
}

void Instance::Adopt(const std::shared_ptr<CallBase>& call, void** call_ctx) {
  call->self_ = call;
  *call_ctx = call.get();
}

void Instance::RunGuarded(CallBase& call, const std::function<void()>& body) {
  // No exception may cross the C ABI or end a worker thread; one escaping a handler ends the call
  // as INTERNAL naming the request, never the exception's text (it may hold data).
  try {
    body();
  } catch (...) {
    call.FinishWith(absl::InternalError("the plugin failed while handling request " +
                                        call.info().request_id + " (an internal error)"),
                    {});
  }
}

}  // namespace kaigo::sdk

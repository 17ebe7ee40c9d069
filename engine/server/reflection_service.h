// gRPC server reflection, v1 and v1alpha, answered from the engine's DescriptorIndex rather than
// the process's generated pool — so it shows services that plugins bring and the engine was built
// without (gRPC 1.51's own reflection only sees the generated pool and registered services).
// Extensions are served too: a client asks for the custom options' definitions (the `kaigo`
// method option, the care-plan item metadata on fields) by extendee and number, and reads them
// from the options of the descriptors it got.
//
// Thread-safe; each stream reads the routing table current at each request.
#ifndef KAIGO_ENGINE_SERVER_REFLECTION_SERVICE_H_
#define KAIGO_ENGINE_SERVER_REFLECTION_SERVICE_H_

#include "engine/engine.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace kaigo::engine {

namespace internal {
// Answers one request; Request/Response are the v1 or v1alpha messages (same fields).
template <class Request, class Response>
void AnswerReflection(const Engine& engine, const Request& request, Response* response);

template <class Request, class Response>
class ReflectionReactor : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit ReflectionReactor(const Engine* engine) : engine_(engine) { this->StartRead(&request_); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status::OK);
      return;
    }
    response_.Clear();
    AnswerReflection(*engine_, request_, &response_);
    this->StartWrite(&response_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status::CANCELLED);
      return;
    }
    this->StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  const Engine* engine_;
  Request request_;
  Response response_;
};
}  // namespace internal

class ReflectionV1 : public grpc::reflection::v1::ServerReflection::CallbackService {
 public:
  explicit ReflectionV1(const Engine* engine) : engine_(engine) {}
  grpc::ServerBidiReactor<grpc::reflection::v1::ServerReflectionRequest,
                          grpc::reflection::v1::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext*) override {
    return new internal::ReflectionReactor<grpc::reflection::v1::ServerReflectionRequest,
                                           grpc::reflection::v1::ServerReflectionResponse>(engine_);
  }

 private:
  const Engine* engine_;
};

class ReflectionV1Alpha : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  explicit ReflectionV1Alpha(const Engine* engine) : engine_(engine) {}
  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext*) override {
    return new internal::ReflectionReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                                           grpc::reflection::v1alpha::ServerReflectionResponse>(
        engine_);
  }

 private:
  const Engine* engine_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_SERVER_REFLECTION_SERVICE_H_

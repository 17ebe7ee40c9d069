// A server reflection (grpc.reflection.v1) client for cross-component tests: one question, one
// answer; the services a server lists, and their descriptors with dependencies in a pool.
#ifndef KAIGO_TESTS_SUPPORT_REFLECTION_H_
#define KAIGO_TESTS_SUPPORT_REFLECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {

inline grpc::reflection::v1::ServerReflectionResponse AskReflection(
    const std::shared_ptr<grpc::Channel>& channel,
    const grpc::reflection::v1::ServerReflectionRequest& request) {
  auto stub = grpc::reflection::v1::ServerReflection::NewStub(channel);
  auto context = Context("");
  auto stream = stub->ServerReflectionInfo(context.get());
  stream->Write(request);
  grpc::reflection::v1::ServerReflectionResponse response;
  stream->Read(&response);
  stream->WritesDone();
  stream->Finish();
  return response;
}

// The names of the services the server lists.
inline std::vector<std::string> ReflectedServices(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::reflection::v1::ServerReflectionRequest request;
  request.set_list_services("");
  std::vector<std::string> names;
  auto response = AskReflection(channel, request);
  for (const auto& s : response.list_services_response().service()) {
    names.push_back(s.name());
  }
  return names;
}

// Adds the file that defines `symbol`, with its dependencies, to `database`; false if the server
// sent none or one did not parse.
inline bool AddReflectedFiles(const std::shared_ptr<grpc::Channel>& channel,
                              const std::string& symbol,
                              google::protobuf::SimpleDescriptorDatabase* database) {
  grpc::reflection::v1::ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  auto files = AskReflection(channel, request).file_descriptor_response();
  for (const auto& bytes : files.file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file, known;
    if (!file.ParseFromString(bytes)) return false;
    if (!database->FindFileByName(file.name(), &known)) database->Add(file);  // shared ones once
  }
  return files.file_descriptor_proto_size() > 0;
}

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_REFLECTION_H_

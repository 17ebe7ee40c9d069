#include "engine/server/reflection_service.h"

namespace kaigo::engine::internal {

template <class Request, class Response>
void AnswerReflection(const Engine& engine, const Request& request, Response* response) {
  response->set_valid_host(request.host());
  *response->mutable_original_request() = request;
  auto table = engine.table();
  auto fail = [&](grpc::StatusCode code, const std::string& message) {
    response->mutable_error_response()->set_error_code(code);
    response->mutable_error_response()->set_error_message(message);
  };
  if (table == nullptr) return fail(grpc::StatusCode::UNAVAILABLE, "the engine is shutting down");
  const DescriptorIndex& index = *table->descriptors;
  auto send_files = [&](const absl::StatusOr<std::vector<std::string>>& files) {
    if (!files.ok())
      return fail(grpc::StatusCode::NOT_FOUND, std::string(files.status().message()));
    auto* out = response->mutable_file_descriptor_response();
    for (const auto& f : *files) out->add_file_descriptor_proto(f);
  };
  switch (request.message_request_case()) {
    case Request::kFileByFilename:
      return send_files(index.FileWithDependencies(request.file_by_filename()));
    case Request::kFileContainingSymbol:
      return send_files(index.FileContainingSymbol(request.file_containing_symbol()));
    case Request::kFileContainingExtension:
      return send_files(
          index.FileContainingExtension(request.file_containing_extension().containing_type(),
                                        request.file_containing_extension().extension_number()));
    case Request::kAllExtensionNumbersOfType: {
      const std::string& type = request.all_extension_numbers_of_type();
      auto numbers = index.ExtensionNumbers(type);
      if (!numbers.ok())
        return fail(grpc::StatusCode::NOT_FOUND, std::string(numbers.status().message()));
      auto* out = response->mutable_all_extension_numbers_response();
      out->set_base_type_name(type);
      for (int number : *numbers) out->add_extension_number(number);
      return;
    }
    case Request::kListServices: {
      auto* list = response->mutable_list_services_response();
      for (const auto& name : index.services()) list->add_service()->set_name(name);
      return;
    }
    default:
      return fail(grpc::StatusCode::INVALID_ARGUMENT, "the request names no known query");
  }
}

template void AnswerReflection(const Engine&, const grpc::reflection::v1::ServerReflectionRequest&,
                               grpc::reflection::v1::ServerReflectionResponse*);
template void AnswerReflection(const Engine&,
                               const grpc::reflection::v1alpha::ServerReflectionRequest&,
                               grpc::reflection::v1alpha::ServerReflectionResponse*);

}  // namespace kaigo::engine::internal

// Messages of the engine's own services read from and written to gRPC byte buffers, for methods
// registered raw: gRPC's typed callback methods answer a request that does not parse with
// UNIMPLEMENTED (and its default health service with INTERNAL); a raw method parses itself and
// answers INVALID_ARGUMENT, as every plugin method does. Thread-compatible.
#ifndef KAIGO_ENGINE_SERVER_RAW_MESSAGE_H_
#define KAIGO_ENGINE_SERVER_RAW_MESSAGE_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <string>

#include "google/protobuf/message.h"

namespace kaigo::engine {

// `buffer` parsed into *message; an absent message is the empty one.
inline bool ParseRawRequest(const grpc::ByteBuffer* buffer, google::protobuf::Message* message) {
  if (buffer == nullptr || !buffer->Valid()) return true;
  grpc::Slice slice;
  if (!buffer->DumpToSingleSlice(&slice).ok()) return false;
  return message->ParseFromArray(slice.begin(), static_cast<int>(slice.size()));
}

// The refusal of a request that did not parse as `message`'s type.
inline grpc::Status NotARequest(const google::protobuf::Message& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "the request is not a " + message.GetDescriptor()->full_name());
}

inline grpc::ByteBuffer SerializeRaw(const google::protobuf::Message& message) {
  grpc::Slice slice(message.SerializeAsString());
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_SERVER_RAW_MESSAGE_H_

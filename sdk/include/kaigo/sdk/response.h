// Filling response messages. Per-RPC responses (kaigo.v1's rule: every method has its own, so a
// field can be added to one method's answer alone) usually carry one resource; AnswerIn puts a
// handler's resource into its method's response. Times are google.protobuf.Timestamp in the API
// and Unix seconds inside plugins; SetUnixSeconds converts.
#ifndef KAIGO_SDK_RESPONSE_H_
#define KAIGO_SDK_RESPONSE_H_

#include <cstdint>
#include <utility>

#include "absl/status/statusor.h"
#include "google/protobuf/timestamp.pb.h"

namespace kaigo::sdk {

// `value` as the field of a new Resp that `mutable_field` names, or value's error. E.g.
//   return sdk::AnswerIn(Lookup(req), &v1::LookupByCardResponse::mutable_qualification);
template <class Resp, class T>
absl::StatusOr<Resp> AnswerIn(absl::StatusOr<T> value, T* (Resp::*mutable_field)()) {
  if (!value.ok()) return value.status();
  Resp out;
  *(out.*mutable_field)() = *std::move(value);
  return out;
}

// Sets the Timestamp field `mutable_field` of `m` to `unix_seconds` when it is positive; leaves it
// unset (the API's "not yet") otherwise.
template <class M>
void SetUnixSeconds(M* m, google::protobuf::Timestamp* (M::*mutable_field)(),
                    int64_t unix_seconds) {
  if (unix_seconds <= 0) return;
  google::protobuf::Timestamp* t = (m->*mutable_field)();
  t->set_seconds(unix_seconds);
  t->set_nanos(0);
}

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_RESPONSE_H_

// Mutations a caller may retry safely (AIP-155): a request that carries `string request_id` is
// done once per (method, request_id) for the plugin's store (the office's, shared by every engine
// on it), and every retry of it is answered with the first answer.
//
//   return sdk::RequestOnce<v1::CreateApplicationResponse>(
//       host(), kCreate, req, [&] { return Create(req, call); });
//
// - Empty request_id: the mutation runs every time.
// - The same request_id with another request (any field but request_id differs): refused,
//   FAILED_PRECONDITION with ErrorInfo REQUEST_ID_REUSED.
// - While the first is still running (on any engine): ABORTED with a RetryInfo; a first that has
//   not finished `kAbandonedAfter` later (its engine died mid-way) is taken over and run again, so
//   a mutation must itself tolerate being run twice after such a crash (none of the engine's
//   writes a second copy; e.g. a draft is created under a key derived from the request_id).
// - A failed mutation records nothing: its retry runs it again.
// Records are kept under "request-id/" keys (a hash of method and request_id: no caller text in
// a key); their values are the answers, sealed at rest like every plugin value.
#ifndef KAIGO_SDK_REQUEST_ONCE_H_
#define KAIGO_SDK_REQUEST_ONCE_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "kaigo/sdk/host_services.h"

namespace kaigo::sdk {

inline constexpr absl::Duration kAbandonedAfter = absl::Minutes(2);

// One admitted request: either the first answer to give again, or the go-ahead to run.
struct RequestTicket {
  std::string key;                    // empty: no request_id, nothing recorded
  int64_t version = 0;                // of the pending record this call wrote
  std::optional<std::string> answer;  // set: the first answer, serialized
};

// Admits `request` for `method` (its full path). INVALID_ARGUMENT naming request_id for one that
// is too long or not printable ASCII; FAILED_PRECONDITION or ABORTED as above.
absl::StatusOr<RequestTicket> BeginRequest(const HostServices& host, std::string_view method,
                                           const google::protobuf::Message& request);
// Records the answer of a ticket that ran (`answer` ok), or forgets the attempt (an error).
void FinishRequest(const HostServices& host, const RequestTicket& ticket,
                   const absl::StatusOr<std::string>& answer);

template <class Resp>
absl::StatusOr<Resp> RequestOnce(const HostServices& host, std::string_view method,
                                 const google::protobuf::Message& request,
                                 const std::function<absl::StatusOr<Resp>()>& mutation) {
  absl::StatusOr<RequestTicket> ticket = BeginRequest(host, method, request);
  if (!ticket.ok()) return ticket.status();
  if (ticket->answer.has_value()) {
    Resp first;
    if (!first.ParseFromString(*ticket->answer)) {
      return absl::DataLossError("the first answer to this request_id is unreadable");
    }
    return first;
  }
  absl::StatusOr<Resp> answer = mutation();
  FinishRequest(host, *ticket,
                answer.ok() ? absl::StatusOr<std::string>(answer->SerializeAsString())
                            : absl::StatusOr<std::string>(answer.status()));
  return answer;
}

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_REQUEST_ONCE_H_

// Errors a program can act on: google.rpc error details (proto/google/rpc/error_details.proto)
// carried by an absl::Status from a plugin, across the ABI (kaigo_status.details) and the engine,
// to the client (grpc-status-details-bin). A status carries them as one payload, a serialized
// google.rpc.Status under kStatusDetailsPayload; the builders below add to it.
//
//   return sdk::InvalidField("details.phone", "PHONE_DIGITS", "10 or 11 digits",
//                            "電話番号は10桁か11桁の数字で入力してください");
//   return sdk::WithErrorInfo(absl::PermissionDeniedError("wrong PIN"), "WRONG_PIN",
//                             {{"tries_left", "2"}});
//
// The engine passes details through when their code matches the status's; it drops what does not
// parse and trims what does not fit in a response trailer. Stateless; thread-safe.
#ifndef KAIGO_SDK_ERROR_DETAILS_H_
#define KAIGO_SDK_ERROR_DETAILS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace kaigo::sdk {

inline constexpr char kStatusDetailsPayload[] = "type.googleapis.com/google.rpc.Status";
// ErrorInfo.domain of the reasons the engine and the in-tree plugins define.
inline constexpr char kErrorDomain[] = "kaigo-bridge";
// The locale of messages meant for office staff.
inline constexpr char kStaffLocale[] = "ja-JP";

struct FieldViolation {
  std::string field;               // the request field's path, e.g. "details.phone"
  std::string reason;              // UPPER_SNAKE_CASE, e.g. "PHONE_DIGITS"
  std::string description;         // the rule, in English
  std::string staff_message = {};  // the same for office staff, in Japanese; may be empty
};

struct PreconditionViolation {
  std::string type;     // e.g. "SUBSIDY_FINDING"
  std::string subject;  // what failed it
  std::string description;
};

// INVALID_ARGUMENT naming the fields and their rules (BadRequest); the message lists them, the
// first few in full.
absl::Status InvalidFields(std::vector<FieldViolation> violations);
absl::Status InvalidField(std::string field, std::string reason, std::string description,
                          std::string staff_message = {});

// `cause` (INVALID_ARGUMENT from a check of one value, e.g. ValidateInsurerNumber) as a violation
// of the request field `field`: "field: <cause's message>", with a BadRequest naming the field and
// `reason`. Any other status passes unchanged.
absl::Status ForField(const absl::Status& cause, std::string field, std::string reason);

// `status` (whose message already names the field its own way, e.g. a header) with a BadRequest
// naming `violation`.
absl::Status WithFieldViolation(absl::Status status, FieldViolation violation);

// `status` with one more detail. An OK status stays OK and carries nothing.
// `domain`: kErrorDomain for the reasons kaigo-bridge defines; another service's for reasons it
// defines and the plugin passes on (e.g. the platform's error codes).
absl::Status WithErrorInfo(absl::Status status, std::string_view reason,
                           const std::map<std::string, std::string>& metadata = {},
                           std::string_view domain = kErrorDomain);
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);
absl::Status WithPreconditionFailure(absl::Status status,
                                     const std::vector<PreconditionViolation>& violations);
absl::Status WithResourceInfo(absl::Status status, std::string_view type, std::string_view name);
absl::Status WithStaffMessage(absl::Status status, std::string_view message);
absl::Status WithDetail(absl::Status status, const google::protobuf::Message& detail);

// The google.rpc.Status of `status`: its code and message, and the details it carries.
google::rpc::Status StatusDetails(const absl::Status& status);
// The details `status` carries, as a serialized google.rpc.Status; "" when it carries none.
std::string SerializedDetails(const absl::Status& status);
// `status` carrying the details of a serialized google.rpc.Status (from the ABI or the wire);
// bytes that do not parse are dropped.
absl::Status WithSerializedDetails(absl::Status status, std::string_view serialized);

// The first detail of type T that `status` carries, if any.
template <typename T>
bool FindDetail(const absl::Status& status, T* out) {
  const google::rpc::Status details = StatusDetails(status);
  for (const auto& any : details.details()) {
    if (any.Is<T>() && any.UnpackTo(out)) return true;
  }
  return false;
}

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_ERROR_DETAILS_H_

#include "kaigo/sdk/error_details.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace kaigo::sdk {

namespace {

google::rpc::Status Stored(const absl::Status& status) {
  google::rpc::Status out;
  if (auto payload = status.GetPayload(kStatusDetailsPayload)) {
    if (!out.ParseFromString(std::string(*payload))) out.Clear();
  }
  return out;
}

absl::Status Store(absl::Status status, google::rpc::Status details) {
  details.set_code(static_cast<int32_t>(status.code()));
  details.set_message(std::string(status.message()));
  status.SetPayload(kStatusDetailsPayload, absl::Cord(details.SerializeAsString()));
  return status;
}

void AddViolation(FieldViolation v, google::rpc::BadRequest* bad) {
  auto* out = bad->add_field_violations();
  out->set_field(std::move(v.field));
  out->set_reason(std::move(v.reason));
  out->set_description(std::move(v.description));
  if (!v.staff_message.empty()) {
    out->mutable_localized_message()->set_locale(std::string(kStaffLocale));
    out->mutable_localized_message()->set_message(std::move(v.staff_message));
  }
}

}  // namespace

absl::Status WithDetail(absl::Status status, const google::protobuf::Message& detail) {
  if (status.ok()) return status;
  google::rpc::Status details = Stored(status);
  details.add_details()->PackFrom(detail);
  return Store(std::move(status), std::move(details));
}

absl::Status InvalidFields(std::vector<FieldViolation> violations) {
  constexpr size_t kNamed = 3;
  std::string message;
  for (size_t i = 0; i < violations.size() && i < kNamed; ++i) {
    absl::StrAppend(&message, i == 0 ? "" : "; ", violations[i].field, ": ",
                    violations[i].description);
  }
  if (violations.size() > kNamed) {
    absl::StrAppend(&message, " and ", violations.size() - kNamed, " more in the details");
  }
  google::rpc::BadRequest bad;
  for (auto& v : violations) AddViolation(std::move(v), &bad);
  return WithDetail(absl::InvalidArgumentError(message), bad);
}

absl::Status WithFieldViolation(absl::Status status, FieldViolation violation) {
  google::rpc::BadRequest bad;
  AddViolation(std::move(violation), &bad);
  return WithDetail(std::move(status), bad);
}

absl::Status InvalidField(std::string field, std::string reason, std::string description,
                          std::string staff_message) {
  std::vector<FieldViolation> one;
  one.push_back(FieldViolation{std::move(field), std::move(reason), std::move(description),
                               std::move(staff_message)});
  return InvalidFields(std::move(one));
}

absl::Status ForField(const absl::Status& cause, std::string field, std::string reason) {
  if (cause.code() != absl::StatusCode::kInvalidArgument) return cause;
  return InvalidField(std::move(field), std::move(reason), std::string(cause.message()));
}

absl::Status WithErrorInfo(absl::Status status, std::string_view reason,
                           const std::map<std::string, std::string>& metadata,
                           std::string_view domain) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(domain));
  info.mutable_metadata()->insert(metadata.begin(), metadata.end());
  return WithDetail(std::move(status), info);
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  google::rpc::RetryInfo retry;
  int64_t ms = absl::ToInt64Milliseconds(delay);
  retry.mutable_retry_delay()->set_seconds(ms / 1000);
  retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
  return WithDetail(std::move(status), retry);
}

absl::Status WithPreconditionFailure(absl::Status status,
                                     const std::vector<PreconditionViolation>& violations) {
  google::rpc::PreconditionFailure failure;
  for (const auto& v : violations) {
    auto* out = failure.add_violations();
    out->set_type(v.type);
    out->set_subject(v.subject);
    out->set_description(v.description);
  }
  return WithDetail(std::move(status), failure);
}

absl::Status WithResourceInfo(absl::Status status, std::string_view type, std::string_view name) {
  google::rpc::ResourceInfo info;
  info.set_resource_type(std::string(type));
  info.set_resource_name(std::string(name));
  return WithDetail(std::move(status), info);
}

absl::Status WithStaffMessage(absl::Status status, std::string_view message) {
  google::rpc::LocalizedMessage localized;
  localized.set_locale(std::string(kStaffLocale));
  localized.set_message(std::string(message));
  return WithDetail(std::move(status), localized);
}

google::rpc::Status StatusDetails(const absl::Status& status) {
  google::rpc::Status out = Stored(status);
  out.set_code(static_cast<int32_t>(status.code()));
  out.set_message(std::string(status.message()));
  return out;
}

std::string SerializedDetails(const absl::Status& status) {
  if (!status.GetPayload(kStatusDetailsPayload).has_value()) return "";
  return StatusDetails(status).SerializeAsString();
}

absl::Status WithSerializedDetails(absl::Status status, std::string_view serialized) {
  if (status.ok() || serialized.empty()) return status;
  google::rpc::Status details;
  if (!details.ParseFromArray(serialized.data(), static_cast<int>(serialized.size())) ||
      details.details_size() == 0) {
    return status;
  }
  return Store(std::move(status), std::move(details));
}

}  // namespace kaigo::sdk

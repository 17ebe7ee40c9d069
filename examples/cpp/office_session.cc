// A care office's session against kaigo-bridge in C++, with the stubs generated from proto/:
// looks up three recipients' qualification and downloads a 認定調査票, checking its SHA-256. A
// refused call is shown with what its google.rpc details say (ErrorText): which field broke which
// rule, why and when to retry, and the message for office staff.
//
//   office_session 127.0.0.1:PORT 1371000017
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>

#include <cstdio>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "kaigo/v1/certification.grpc.pb.h"
#include "kaigo/v1/qualification.grpc.pb.h"

namespace {

namespace v1 = kaigo::v1;

std::string Date(const v1::Date& d) {
  if (d.year() == 0) return "—";
  char buf[16];
  snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year(), d.month(), d.day());
  return buf;
}

const char* CareLevel(v1::CareLevel level) {
  static const std::map<v1::CareLevel, const char*> names = {
      {v1::CARE_LEVEL_NOT_APPLICABLE, "非該当"}, {v1::CARE_LEVEL_PROJECT_SUBJECT, "事業対象者"},
      {v1::CARE_LEVEL_SUPPORT_1, "要支援1"},     {v1::CARE_LEVEL_SUPPORT_2, "要支援2"},
      {v1::CARE_LEVEL_CARE_1, "要介護1"},        {v1::CARE_LEVEL_CARE_2, "要介護2"},
      {v1::CARE_LEVEL_CARE_3, "要介護3"},        {v1::CARE_LEVEL_CARE_4, "要介護4"},
      {v1::CARE_LEVEL_CARE_5, "要介護5"},        {v1::CARE_LEVEL_APPLYING, "申請中"}};
  auto it = names.find(level);
  return it == names.end() ? "?" : it->second;
}

// A refused call's code and message, and what its details add. They travel in the trailer
// grpc-status-details-bin as a serialized google.rpc.Status, which grpc::Status hands over as
// error_details().
std::string ErrorText(const grpc::Status& status) {
  std::string text = absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())) +
                     ": " + status.error_message();
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return text;
  }
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::BadRequest bad;
    google::rpc::PreconditionFailure failure;
    google::rpc::ErrorInfo info;
    google::rpc::RetryInfo retry;
    google::rpc::LocalizedMessage localized;
    if (any.UnpackTo(&bad)) {
      for (const auto& v : bad.field_violations()) {
        text += "\n      field " + v.field() + ": " +
                (v.reason().empty() ? v.description() : v.reason());
        if (!v.localized_message().message().empty()) {
          text += " 「" + v.localized_message().message() + "」";
        }
      }
    } else if (any.UnpackTo(&failure)) {
      for (const auto& v : failure.violations()) {
        text += "\n      " + v.type() + " " + v.subject() + ": " + v.description();
      }
    } else if (any.UnpackTo(&info)) {
      text += "\n      reason " + info.reason() + " (" + info.domain() + ")";
      for (const auto& [key, value] : info.metadata()) text += " " + key + "=" + value;
    } else if (any.UnpackTo(&retry)) {
      text += "\n      retry after " + std::to_string(retry.retry_delay().seconds()) + " s";
    } else if (any.UnpackTo(&localized)) {
      text += "\n      " + localized.locale() + ": " + localized.message();
    }
  }
  return text;
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& office) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("x-kaigo-office", office);
  return context;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: office_session HOST:PORT OFFICE_NUMBER\n");
    return 2;
  }
  std::string office = argv[2];
  auto channel = grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  auto qualification = v1::QualificationService::NewStub(channel);
  printf("資格確認 (qualification):\n");
  for (auto [insurer, insured] :
       {std::make_pair("131011", "0000100004"), std::make_pair("131011", "0000100009"),
        std::make_pair("131011", "0000199999")}) {
    v1::LookupByInsuredNumberRequest request;
    request.mutable_insurer()->set_value(insurer);
    request.mutable_insured()->set_value(insured);
    v1::LookupByInsuredNumberResponse response;
    grpc::Status status =
        qualification->LookupByInsuredNumber(Context(office).get(), request, &response);
    if (!status.ok()) {
      printf("  %s-%s: %s\n", insurer, insured, ErrorText(status).c_str());
      continue;
    }
    const v1::QualificationResult& r = response.qualification();
    printf("  %s-%s: %s %s, 有効期間 %s〜%s, 限度額 %d単位/月, 負担 %d割\n", insurer, insured,
           v1::QualificationVerdict_Name(r.verdict()).c_str(), CareLevel(r.care_level()),
           Date(r.care_level_period().start()).c_str(), Date(r.care_level_period().end()).c_str(),
           r.monthly_limit_units(), r.copay_percent() / 10);
  }

  // A typo in the 保険者番号: refused, naming the field and its rule.
  v1::LookupByInsuredNumberRequest typo;
  typo.mutable_insurer()->set_value("13101");
  typo.mutable_insured()->set_value("0000100004");
  v1::LookupByInsuredNumberResponse ignored;
  grpc::Status refused =
      qualification->LookupByInsuredNumber(Context(office).get(), typo, &ignored);
  printf("入力ミスの例 (a typo): %s\n", ErrorText(refused).c_str());

  auto certification = v1::CertificationService::NewStub(channel);
  v1::FetchDocumentRequest fetch;
  fetch.mutable_recipient()->mutable_insurer()->set_value("131011");
  fetch.mutable_recipient()->mutable_insured()->set_value("0000100004");
  fetch.set_document_id("P-131011-0000100004");
  auto context = Context(office);
  auto reader = certification->FetchDocument(context.get(), fetch);
  v1::FetchDocumentResponse piece;
  std::string data, expected;
  while (reader->Read(&piece)) {
    data += piece.chunk().data();
    if (!piece.chunk().sha256().empty()) expected = piece.chunk().sha256();
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) {
    printf("主治医意見書: %s\n", ErrorText(status).c_str());
    return 1;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  std::string actual;
  for (unsigned int i = 0; i < size; ++i) {
    char hex[3];
    snprintf(hex, sizeof hex, "%02x", digest[i]);
    actual += hex;
  }
  printf("主治医意見書 %s: %zu bytes, SHA-256 %s\n", fetch.document_id().c_str(), data.size(),
         actual == expected ? "一致 (matches)" : "不一致 (MISMATCH)");
  return actual == expected ? 0 : 1;
}

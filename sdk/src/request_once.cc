#include "kaigo/sdk/request_once.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "kaigo/sdk/error_details.h"

namespace kaigo::sdk {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr char kPrefix[] = "request-id/";
constexpr size_t kMaxRequestId = 128;

uint64_t Fnv1a(std::string_view bytes, uint64_t h) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Two FNV-1a passes with different seeds: 128 bits, stable across processes and builds. Not a
// security hash: a key only separates one caller's request ids within its own office's store.
std::string Hash128(std::string_view bytes) {
  return absl::StrCat(absl::Hex(Fnv1a(bytes, 14695981039346656037ull), absl::kZeroPad16),
                      absl::Hex(Fnv1a(bytes, 0x6c62272e07bb0142ull), absl::kZeroPad16));
}

const FieldDescriptor* RequestIdField(const Message& request) {
  const FieldDescriptor* f = request.GetDescriptor()->FindFieldByName("request_id");
  return f != nullptr && f->cpp_type() == FieldDescriptor::CPPTYPE_STRING && !f->is_repeated()
             ? f
             : nullptr;
}

// The request without its request_id, serialized deterministically.
std::string Fingerprint(const Message& request, const FieldDescriptor* id) {
  std::unique_ptr<Message> copy(request.New());
  copy->CopyFrom(request);
  copy->GetReflection()->ClearField(copy.get(), id);
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  return Hash128(bytes);
}

// A record: "<P|D> <fingerprint> <unix seconds>\n" then, when done, the answer's bytes.
struct Record {
  bool done = false;
  std::string fingerprint;
  int64_t since = 0;
  std::string answer;
};

std::string Encode(bool done, const std::string& fingerprint, int64_t since,
                   const std::string& answer = "") {
  return absl::StrCat(done ? "D " : "P ", fingerprint, " ", since, "\n", answer);
}

bool Decode(const std::string& value, Record* out) {
  size_t eol = value.find('\n');
  if (eol == std::string::npos) return false;
  std::vector<std::string> head = absl::StrSplit(value.substr(0, eol), ' ');
  if (head.size() != 3 || (head[0] != "P" && head[0] != "D") ||
      !absl::SimpleAtoi(head[2], &out->since)) {
    return false;
  }
  out->done = head[0] == "D";
  out->fingerprint = head[1];
  out->answer = value.substr(eol + 1);
  return true;
}

absl::Status CheckRequestId(const std::string& id) {
  bool printable = true;
  for (unsigned char c : id) printable = printable && c >= 0x20 && c < 0x7f;
  if (id.size() <= kMaxRequestId && printable) return absl::OkStatus();
  return InvalidField("request_id", "REQUEST_ID",
                      "request_id: 1 to 128 printable ASCII characters (a UUID is a good choice)");
}

}  // namespace

absl::StatusOr<RequestTicket> BeginRequest(const HostServices& host, std::string_view method,
                                           const Message& request) {
  RequestTicket ticket;
  const FieldDescriptor* id_field = RequestIdField(request);
  if (id_field == nullptr) return ticket;
  const std::string id = request.GetReflection()->GetString(request, id_field);
  if (id.empty()) return ticket;
  if (absl::Status s = CheckRequestId(id); !s.ok()) return s;
  ticket.key = absl::StrCat(kPrefix, Hash128(absl::StrCat(std::string(method), "\n", id)));
  const std::string fingerprint = Fingerprint(request, id_field);
  const int64_t now = absl::ToUnixSeconds(host.Now());
  for (int attempt = 0; attempt < 4; ++attempt) {
    absl::StatusOr<StoredValue> stored = host.StoreGetVersioned(ticket.key);
    int64_t expected = 0;
    if (stored.ok()) {
      Record record;
      if (!Decode(stored->value, &record)) {
        return absl::DataLossError("the record of this request_id is unreadable");
      }
      if (record.fingerprint != fingerprint) {
        return WithErrorInfo(
            absl::FailedPreconditionError(
                "request_id: already used for another request (every field but request_id "
                "must be the same in a retry; a new request needs a new request_id)"),
            "REQUEST_ID_REUSED", {});
      }
      if (record.done) {
        ticket.answer = std::move(record.answer);
        return ticket;
      }
      if (now - record.since < absl::ToInt64Seconds(kAbandonedAfter)) {
        return WithRetryDelay(absl::AbortedError("the first request with this request_id is "
                                                 "still being done; retry in a moment"),
                              absl::Seconds(1));
      }
      expected = stored->version;  // abandoned mid-way (its engine ended): take it over
    } else if (!absl::IsNotFound(stored.status())) {
      return stored.status();
    }
    absl::StatusOr<int64_t> written =
        host.StorePutIf(ticket.key, Encode(false, fingerprint, now), expected);
    if (written.ok()) {
      ticket.version = *written;
      return ticket;
    }
    if (!absl::IsAborted(written.status())) return written.status();
  }
  return WithRetryDelay(absl::AbortedError("this request_id is contended; retry in a moment"),
                        absl::Seconds(1));
}

void FinishRequest(const HostServices& host, const RequestTicket& ticket,
                   const absl::StatusOr<std::string>& answer) {
  if (ticket.key.empty()) return;
  if (!answer.ok()) {
    host.StoreDelete(ticket.key).IgnoreError();  // a retry runs it again
    return;
  }
  absl::StatusOr<StoredValue> stored = host.StoreGetVersioned(ticket.key);
  Record record;
  if (!stored.ok() || stored->version != ticket.version || !Decode(stored->value, &record)) {
    return;  // taken over meanwhile: the later attempt records its own answer
  }
  host.StorePutIf(ticket.key,
                  Encode(true, record.fingerprint, absl::ToUnixSeconds(host.Now()), *answer),
                  ticket.version)
      .IgnoreError();
}

}  // namespace kaigo::sdk

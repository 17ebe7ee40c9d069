#include "careplan_exchange.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "card_proof.h"
#include "careplan/care_plan_reader.h"
#include "careplan/care_plan_writer.h"
#include "careplan/file_kinds.h"
#include "careplan/file_name.h"
#include "careplan/layout.h"
#include "careplan/send_unit.h"
#include "exchange_answers.h"
#include "in_tree_manifest.h"
#include "kaigo/identifiers.h"
#include "kaigo/plugins/v1/platform_config.pb.h"
#include "kaigo/sdk/clock.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/pagination.h"
#include "kaigo/sdk/response.h"
#include "kaigo/v1/careplan_exchange.pb.h"
#include "nlohmann/json.hpp"
#include "platform_connection.h"
#include "platform_encoding.h"
#include "recipient_ref.h"

namespace kaigo::plugins::careplan {

namespace {

namespace v1 = kaigo::v1;
namespace cp = kaigo::careplan;
using kaigo::plugins::v1::CarePlanExchangeConfig;
using nlohmann::json;
using platform::PercentEncode;

constexpr char kService[] = "/kaigo.v1.CarePlanExchangeService/";
constexpr char kLastSequence[] = "sequence/last";
constexpr char kSentPrefix[] = "sent/";
constexpr char kEvidencePrefix[] = "evidence/";
constexpr char kIndexPrefix[] = "evidence-of/";
// 居宅サービス計画作成依頼届出 by reference: notification/<sha256(reference)> the platform's
// receipt, notification/<sha256(reference)>/request the request while it is being filed.
constexpr char kNotificationPrefix[] = "notification/";
// Findings named in an INVALID_ARGUMENT message; the details carry every one.
constexpr size_t kFindingsInMessage = 8;
// Threads one Validate call may use for the files of its request.
constexpr int kValidateThreads = 2;
// Sends of one unit to one destination when the platform takes a higher 連番 first (UNIT_ORDER).
constexpr int kSendAttempts = 5;

std::string MonthOf(int64_t unix_seconds) {
  return absl::FormatTime("%Y%m", absl::FromUnixSeconds(unix_seconds), JapanTime());
}

// Where a finding is: "<file>:<line> item <No.> <name>", as far as the finding says.
std::string FindingSubject(const cp::v1::Finding& f) {
  std::string subject = f.file();
  if (f.line() > 0) absl::StrAppend(&subject, ":", f.line());
  if (f.item_number() > 0) absl::StrAppend(&subject, " item ", f.item_number(), " ", f.item_name());
  return subject;
}

// INVALID_ARGUMENT for the findings that are errors, or OK when none is. The message names the
// first few; the details carry an ErrorInfo CARE_PLAN_FINDINGS with the count, a BadRequest naming
// each request field whose file has errors (`field_of_file` by file name, else `field`), and
// every finding as a PreconditionFailure violation (type CARE_PLAN_RULE: <rule>), last, so what
// the engine trims to fit is the tail of the list.
absl::Status Rejected(const std::string& field, const std::vector<cp::v1::Finding>& findings,
                      const std::map<std::string, std::string>& field_of_file = {}) {
  std::vector<const cp::v1::Finding*> errors;
  for (const auto& f : findings) {
    if (f.severity() == cp::v1::Finding::SEVERITY_ERROR) errors.push_back(&f);
  }
  if (errors.empty()) return absl::OkStatus();
  std::string message = absl::StrCat(field, ": ", errors.size(), " error(s)");
  for (size_t i = 0; i < errors.size() && i < kFindingsInMessage; ++i) {
    absl::StrAppend(&message, "\n", cp::FormatFinding(*errors[i]));
  }
  if (errors.size() > kFindingsInMessage) {
    absl::StrAppend(&message, "\n(every one in the error's details)");
  }
  std::map<std::string, int> errors_by_field;
  std::vector<sdk::PreconditionViolation> violations;
  for (const cp::v1::Finding* f : errors) {
    auto named = field_of_file.find(f->file());
    ++errors_by_field[named != field_of_file.end() ? named->second : field];
    violations.push_back({"CARE_PLAN_RULE: " + f->rule(), FindingSubject(*f), f->message()});
  }
  google::rpc::BadRequest bad;
  for (const auto& [name, count] : errors_by_field) {
    auto* v = bad.add_field_violations();
    v->set_field(name);
    v->set_reason("CARE_PLAN_FINDINGS");
    v->set_description(absl::StrCat(count, " error(s) against the care-plan CSV standard"));
  }
  absl::Status rejected =
      sdk::WithErrorInfo(absl::InvalidArgumentError(message), "CARE_PLAN_FINDINGS",
                         {{"errors", std::to_string(errors.size())}});
  rejected = sdk::WithStaffMessage(
      sdk::WithDetail(std::move(rejected), bad),
      absl::StrCat("ケアプランデータに標準仕様の誤りが", errors.size(), "件あります"));
  return sdk::WithPreconditionFailure(std::move(rejected), violations);
}

// A month filter: empty (every month) or YYYYMM.
absl::Status CheckMonth(const std::string& month) {
  if (month.empty() || month.size() == 6) return absl::OkStatus();
  return sdk::InvalidField("month", "MONTH", "YYYYMM");
}

// The request's recipient (insurer, insured): both numbers valid.
template <class Request>
absl::Status CheckRecipient(const Request& req) {
  if (absl::Status s = ValidateInsurerNumber(req.insurer().value()); !s.ok()) {
    return sdk::ForField(s, "insurer.value", "INSURER_NUMBER");
  }
  return sdk::ForField(ValidateInsuredNumber(req.insured().value()), "insured.value",
                       "INSURED_NUMBER");
}

// The recipients (保険者番号, 被保険者番号) a typed file's records concern.
std::set<std::pair<std::string, std::string>> Recipients(const cp::v1::CarePlanFile& file) {
  std::set<std::pair<std::string, std::string>> out;
  const cp::Layout* layout = cp::LayoutFor(file.name().kind());
  if (layout == nullptr) return out;
  const auto* fr = file.GetReflection();
  for (int i = 0; i < fr->FieldSize(file, layout->list); ++i) {
    const auto& row = fr->GetRepeatedMessage(file, layout->list, i);
    const auto* r = row.GetReflection();
    out.emplace(r->GetString(row, layout->ByNumber(2)->field),
                r->GetString(row, layout->ByNumber(3)->field));
  }
  return out;
}

class CarePlanExchange : public sdk::Instance {
 public:
  CarePlanExchange(sdk::HostServices host, std::string office, CarePlanExchangeConfig config,
                   platform::PlatformAccounts accounts)
      : Instance(std::move(host)),
        office_(std::move(office)),
        config_(std::move(config)),
        accounts_(std::move(accounts)) {
    Blocking<v1::ValidateCarePlanRequest, v1::ValidateCarePlanResponse>(
        "ValidateCarePlan", &CarePlanExchange::Validate);
    Blocking<v1::ConvertCarePlanRequest, v1::ConvertCarePlanResponse>("ConvertCarePlan",
                                                                      &CarePlanExchange::Convert);
    Blocking<v1::SendCarePlanRequest, v1::SendCarePlanResponse>("SendCarePlan",
                                                                &CarePlanExchange::Send);
    Blocking<v1::ListSentRequest, v1::ListSentResponse>("ListSent", &CarePlanExchange::ListSent);
    Blocking<v1::ListReceivedRequest, v1::ListReceivedResponse>("ListReceived",
                                                                &CarePlanExchange::ListReceived);
    Blocking<v1::FetchReceivedRequest, v1::FetchReceivedResponse>("FetchReceived",
                                                                  &CarePlanExchange::Fetch);
    Blocking<v1::AcknowledgeReceivedRequest, v1::AcknowledgeReceivedResponse>(
        "AcknowledgeReceived", &CarePlanExchange::Acknowledge);
    Blocking<v1::ExportEvidenceRequest, v1::ExportEvidenceResponse>(
        "ExportEvidence", &CarePlanExchange::ExportEvidence);
    Blocking<v1::SubmitCarePlanRequestNotificationRequest,
             v1::SubmitCarePlanRequestNotificationResponse>("SubmitCarePlanRequestNotification",
                                                            &CarePlanExchange::Notify);
  }

 private:
  static std::string Method(const char* name) { return std::string(kService) + name; }

  // The office's web-service user for the call's role.
  platform::CallClient Platform(const sdk::CallBase& call) const {
    return accounts_.ClientFor(call);
  }

  template <class Req, class Resp, class Handler>
  void Blocking(const char* name, Handler handler) {
    BlockingUnary<Req, Resp>(Method(name),
                             [this, handler](const Req& req, const sdk::CallBase& call) {
                               return std::invoke(handler, this, req, call);
                             });
  }

  absl::StatusOr<v1::ValidateCarePlanResponse> Validate(const v1::ValidateCarePlanRequest& req,
                                                        const sdk::CallBase&) {
    cp::ReadOptions options;
    options.mode = req.strict() ? cp::Mode::kStrict : cp::Mode::kTolerant;
    options.typed = false;
    v1::ValidateCarePlanResponse response;
    std::vector<cp::v1::FileName> names;
    std::vector<cp::FileInput> inputs;
    for (const v1::CsvFile& file : req.files()) inputs.push_back({file.name(), file.content()});
    for (auto& result : cp::ReadCarePlanFiles(inputs, options, kValidateThreads)) {
      for (auto& f : result.findings) *response.add_findings() = std::move(f);
    }
    for (const v1::CsvFile& file : req.files()) {
      if (auto name = cp::ParseFileName(file.name()); name.ok()) names.push_back(*name);
    }
    for (const cp::SendUnit& unit : cp::GroupSendUnits(names)) {
      std::vector<cp::v1::FileName> members;
      for (size_t i : unit.files) members.push_back(names[i]);
      for (auto& f : cp::CheckSendUnit(members, options.mode)) {
        *response.add_findings() = std::move(f);
      }
    }
    for (const auto& f : response.findings()) {
      if (f.severity() == cp::v1::Finding::SEVERITY_ERROR) {
        response.set_errors(response.errors() + 1);
      } else {
        response.set_warnings(response.warnings() + 1);
      }
    }
    return response;
  }

  absl::StatusOr<v1::ConvertCarePlanResponse> Convert(const v1::ConvertCarePlanRequest& req,
                                                      const sdk::CallBase&) {
    cp::ReadOptions options;
    options.mode = req.strict() ? cp::Mode::kStrict : cp::Mode::kTolerant;
    options.resolve_repeats = req.resolve_repeats();
    v1::ConvertCarePlanResponse response;
    if (req.has_csv()) {
      auto result = cp::ReadCarePlanFile(req.csv().name(), req.csv().content(), options);
      if (absl::Status s = Rejected("csv.content", result.findings); !s.ok()) return s;
      *response.mutable_typed() = std::move(result.file);
      for (auto& f : result.findings) *response.add_findings() = std::move(f);
      return response;
    }
    if (!req.has_typed()) {
      return sdk::InvalidField("input", "REQUIRED", "csv or typed is required");
    }
    auto bytes = cp::WriteCarePlanFile(req.typed());
    if (!bytes.ok()) return sdk::ForField(bytes.status(), "typed", "CARE_PLAN_FILE");
    std::string name = cp::FormatFileName(req.typed().name());
    options.typed = false;
    auto check = cp::ReadCarePlanFile(name, *bytes, options);
    if (absl::Status s = Rejected("typed", check.findings); !s.ok()) return s;
    response.mutable_csv()->set_name(name);
    response.mutable_csv()->set_content(*std::move(bytes));
    for (auto& f : check.findings) *response.add_findings() = std::move(f);
    return response;
  }

  // The unit's files, typed: CSV ones read strictly (senders), typed ones as given.
  absl::StatusOr<std::vector<cp::v1::CarePlanFile>> UnitFiles(const v1::SendCarePlanRequest& req) {
    std::vector<cp::v1::CarePlanFile> files;
    cp::ReadOptions strict;
    strict.mode = cp::Mode::kStrict;
    std::vector<cp::v1::Finding> findings;
    std::map<std::string, std::string> field_of_file;
    for (int i = 0; i < req.files_size(); ++i) {
      const v1::CsvFile& csv = req.files(i);
      auto result = cp::ReadCarePlanFile(csv.name(), csv.content(), strict);
      findings.insert(findings.end(), result.findings.begin(), result.findings.end());
      field_of_file.emplace(csv.name(), absl::StrCat("files[", i, "].content"));
      if (!result.has_errors()) files.push_back(std::move(result.file));
    }
    if (absl::Status s = Rejected("files", findings, field_of_file); !s.ok()) return s;
    for (int i = 0; i < req.typed_files_size(); ++i) {
      const cp::v1::CarePlanFile& typed = req.typed_files(i);
      const cp::KindInfo* kind = cp::FindKind(typed.name().kind());
      if (kind == nullptr) {
        return sdk::InvalidField(absl::StrCat("typed_files[", i, "].name.kind"), "REQUIRED",
                                 "a file kind is required");
      }
      if (kind->month_in_name && typed.name().service_month().size() != 6) {
        return sdk::InvalidField(absl::StrCat("typed_files[", i, "].name.service_month"),
                                 "SERVICE_MONTH",
                                 absl::StrCat(kind->prefix, " names carry 対象年月 (YYYYMM)"));
      }
      files.push_back(typed);
    }
    if (files.empty()) return sdk::InvalidField("files", "REQUIRED", "a send unit has files");
    return files;
  }

  // A ファイル連番 (YYYYMMDDHHMMSS, Japan time) greater than every one this office used before
  // and than `above` (one the platform refused); kept first, by compare-and-set on the office's
  // last one, so sends on every engine sharing the store get distinct numbers.
  absl::StatusOr<std::string> NextSequence(const std::string& above = "") {
    const std::string now = absl::FormatTime("%Y%m%d%H%M%S", host().Now(), JapanTime());
    auto taken = host().StoreUpdate(
        kLastSequence, [&](const std::string* last) -> absl::StatusOr<std::optional<std::string>> {
          std::string sequence = now;
          const std::string floor = std::max(last != nullptr ? *last : std::string(), above);
          int y, mo, d, h, mi, se;
          if (sequence <= floor &&
              sscanf(floor.c_str(), "%4d%2d%2d%2d%2d%2d", &y, &mo, &d, &h, &mi, &se) == 6) {
            absl::Time previous =
                absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, se), JapanTime());
            sequence = absl::FormatTime("%Y%m%d%H%M%S", previous + absl::Seconds(1), JapanTime());
          }
          return sequence;
        });
    if (!taken.ok()) return taken.status();
    return taken->value;
  }

  absl::StatusOr<v1::SendCarePlanResponse> Send(const v1::SendCarePlanRequest& req,
                                                const sdk::CallBase& call) {
    if (req.destinations().empty()) {
      return sdk::InvalidField("destinations", "REQUIRED", "at least one office is required");
    }
    for (int i = 0; i < req.destinations_size(); ++i) {
      const v1::Destination& d = req.destinations(i);
      const std::string field = absl::StrCat("destinations[", i, "]");
      if (absl::Status s = ValidateOfficeNumber(d.office_number()); !s.ok()) {
        return sdk::ForField(s, field + ".office_number", "OFFICE_NUMBER");
      }
      if (d.service_type().size() != 2) {
        return sdk::InvalidField(field + ".service_type", "SERVICE_TYPE",
                                 "a サービス種類コード of 2 characters, e.g. 11");
      }
    }
    auto files = UnitFiles(req);
    if (!files.ok()) return files.status();
    // The bytes do not depend on the names: written and checked once, as named for the first
    // destination, before anything leaves.
    auto unit = Written(*files, req, req.destinations(0));
    if (!unit.ok()) return unit.status();
    const std::string reference = SendReference(req, *unit);
    std::set<std::pair<std::string, std::string>> recipients;
    std::set<std::string> months;
    for (const auto& f : *files) {
      auto r = Recipients(f);
      recipients.insert(r.begin(), r.end());
      if (!f.name().service_month().empty() && f.name().service_month() != "000000") {
        months.insert(f.name().service_month());
      }
    }
    v1::SendCarePlanResponse response;
    for (const v1::Destination& destination : req.destinations()) {
      // The caller's reference enters the key as a digest: it is the caller's to choose, and may
      // name a recipient (store keys are not sealed: engine/store/sealing_store.h).
      std::string key = absl::StrCat(kSentPrefix, platform::Sha256Hex(reference), "/",
                                     destination.office_number(), "/", destination.service_type());
      if (auto earlier = host().StoreGet(key); earlier.ok()) {
        v1::SendResult result;
        if (result.ParseFromString(*earlier) && !result.send_id().empty()) {
          *response.add_sends() = std::move(result);
          continue;
        }
      }
      absl::StatusOr<v1::SendResult> sent =
          SendTo(destination, *unit, reference, key, recipients, months, call);
      if (!sent.ok()) {
        v1::SendResult failed;
        *failed.mutable_destination() = destination;
        failed.set_error_code(absl::StatusCodeToString(sent.status().code()));
        failed.set_error_message(std::string(sent.status().message()));
        *response.add_sends() = std::move(failed);
        continue;
      }
      *response.add_sends() = *std::move(sent);
    }
    return response;
  }

  // A file of the unit as it leaves: its name (the receiving office and the 連番 set per send)
  // and its bytes, base64 as the platform takes them.
  struct WrittenFile {
    cp::v1::FileName name;
    std::string content;
  };

  // The send's reference, which makes each of its sends to a destination happen once (the
  // contract of the care-plan Send's Idempotency-Key):
  //   - the caller's request_id, or, without one, one derived from the content: (office,
  //     the destinations, each file's name as given and its bytes), so the caller's retry of the
  //     same request has the same reference — and the same content sent again on purpose needs
  //     a reference of its own;
  //   - per destination, the platform's client_reference and Idempotency-Key are
  //     "<reference>/<office>/<service type>"; the send's ファイル連番 is kept under
  //     sent/<sha256(reference)>/<office>/<type>/sequence before the POST leaves, so a retry after
  //     the engine died between the platform's answer and the save sends the same names (the same
  //     request) and gets the platform's first answer;
  //   - a send the platform refused with UNIT_ORDER made nothing there (the platform keeps no
  //     answer for its key), so its renumbered send goes under the same key.
  std::string SendReference(const v1::SendCarePlanRequest& req,
                            const std::vector<WrittenFile>& unit) const {
    if (!req.request_id().empty()) return req.request_id();
    std::vector<std::string> parts;
    for (const v1::Destination& d : req.destinations()) {
      parts.push_back(d.office_number() + "/" + d.service_type());
    }
    for (const WrittenFile& file : unit) {
      parts.push_back(cp::FormatFileName(file.name));
      parts.push_back(file.content);
    }
    std::vector<std::string_view> views(parts.begin(), parts.end());
    return platform::IdempotencyKey::Derived(office_, "careplan/send", views).value();
  }

  // The name this office gives a file it sends to `destination` with `sequence`.
  cp::v1::FileName NameFor(cp::v1::FileName name, const v1::Destination& destination,
                           const std::string& sequence) const {
    name.set_from_office(office_);
    name.set_from_service_type(config_.service_type());
    name.set_to_office(destination.office_number());
    name.set_to_service_type(destination.service_type());
    name.set_sequence(sequence);
    name.set_older_form(false);
    return name;
  }

  // The unit's bytes, each file checked strictly under its name for `destination`, and the
  // unit's make-up. `unit` is UnitFiles(req): its files, then its typed files.
  absl::StatusOr<std::vector<WrittenFile>> Written(const std::vector<cp::v1::CarePlanFile>& unit,
                                                   const v1::SendCarePlanRequest& req,
                                                   const v1::Destination& destination) {
    cp::ReadOptions strict;
    strict.mode = cp::Mode::kStrict;
    strict.typed = false;
    std::vector<cp::v1::FileName> names;
    std::vector<cp::v1::Finding> findings;
    std::vector<WrittenFile> written;
    std::map<std::string, std::string> field_of_file;
    for (size_t i = 0; i < unit.size(); ++i) {
      const cp::v1::CarePlanFile& file = unit[i];
      const int csv_files = req.files_size();
      const std::string field = static_cast<int>(i) < csv_files
                                    ? absl::StrCat("files[", i, "].content")
                                    : absl::StrCat("typed_files[", i - csv_files, "]");
      auto bytes = cp::WriteCarePlanFile(file);
      if (!bytes.ok()) return sdk::ForField(bytes.status(), field, "CARE_PLAN_FILE");
      names.push_back(NameFor(file.name(), destination, "20000101000000"));
      field_of_file.emplace(cp::FormatFileName(names.back()), field);
      auto check = cp::ReadCarePlanFile(cp::FormatFileName(names.back()), *bytes, strict);
      findings.insert(findings.end(), check.findings.begin(), check.findings.end());
      written.push_back({file.name(), absl::Base64Escape(*bytes)});
    }
    auto unit_findings = cp::CheckSendUnit(names, cp::Mode::kStrict);
    findings.insert(findings.end(), unit_findings.begin(), unit_findings.end());
    if (absl::Status s = Rejected("files", findings, field_of_file); !s.ok()) return s;
    return written;
  }

  absl::StatusOr<v1::SendResult> SendTo(
      const v1::Destination& destination, const std::vector<WrittenFile>& unit,
      const std::string& reference, const std::string& key,
      const std::set<std::pair<std::string, std::string>>& recipients,
      const std::set<std::string>& months, const sdk::CallBase& call) {
    // The 連番 of a pending send is kept with it, so a retry after a crash sends the same names.
    std::string pending_key = key + "/sequence";
    auto sequence = host().StoreGet(pending_key);
    if (!sequence.ok()) {
      sequence = NextSequence();
      if (!sequence.ok()) return sequence.status();
      auto kept = host().StorePutIf(pending_key, *sequence, 0);
      // A send of the same unit beside this one kept its number first: the unit keeps that one.
      if (absl::IsAborted(kept.status())) sequence = host().StoreGet(pending_key);
      if (!kept.ok() && !absl::IsAborted(kept.status())) return kept.status();
      if (!sequence.ok()) return sequence.status();
    }
    // The platform takes a destination's units in ascending 連番 only. Numbers are distinct (taken
    // by compare-and-set) but taken before the POST, not in its order: another send in flight —
    // beside this one or on another engine — may get there first with a higher one. Then this
    // unit is renumbered above the refused one.
    if (absl::Status s =
            host().AuditBegun(&call, Method("SendCarePlan"), destination.office_number(),
                              absl::StrCat("to ", destination.office_number()));
        !s.ok()) {
      return s;
    }
    absl::StatusOr<v1::SendResult> sent;
    for (int attempt = 1;; ++attempt) {
      sent = PostUnit(Platform(call), destination, unit, reference, *sequence);
      host()
          .Audit(&call, Method("SendCarePlan"),
                 sent.ok() ? sent->send_id() : destination.office_number(), sent.status().code(),
                 absl::StrCat("to ", destination.office_number(), " unit ", *sequence))
          .IgnoreError();
      if (!absl::IsAborted(sent.status()) || attempt == kSendAttempts) break;
      sequence = NextSequence(*sequence);
      if (!sequence.ok()) return sequence.status();
      if (absl::Status s = host().StorePut(pending_key, *sequence); !s.ok()) return s;
    }
    if (!sent.ok()) return sent.status();
    *sent->mutable_destination() = destination;
    v1::EvidenceRecord evidence;
    evidence.set_direction(v1::EvidenceRecord::DIRECTION_SENT);
    evidence.set_send_id(sent->send_id());
    evidence.set_unit(sent->unit());
    evidence.set_counterpart_office(destination.office_number());
    evidence.set_counterpart_service_type(destination.service_type());
    *evidence.mutable_time() = sent->send_time();
    *evidence.mutable_files() = sent->files();
    for (const auto& [insurer, insured] : recipients) {
      evidence.add_recipient_refs(refs_.Of(insurer, insured));
    }
    std::set<std::string> all_months = months;
    all_months.insert(MonthOf(sent->send_time().seconds()));
    for (const auto& m : all_months) evidence.add_months(m);
    auto recorded = UpdateEvidence(sent->send_id(), [&](v1::EvidenceRecord& e, bool) {
      e = evidence;
      return true;
    });
    if (!recorded.ok()) return recorded.status();
    if (absl::Status s = host().StorePut(key, sent->SerializeAsString()); !s.ok()) return s;
    host().StoreDelete(pending_key).IgnoreError();
    return sent;
  }

  absl::StatusOr<v1::SendResult> PostUnit(const platform::CallClient& client,
                                          const v1::Destination& destination,
                                          const std::vector<WrittenFile>& unit,
                                          const std::string& reference,
                                          const std::string& sequence) {
    json files = json::array();
    for (const WrittenFile& file : unit) {
      files.push_back({{"name", cp::FormatFileName(NameFor(file.name, destination, sequence))},
                       {"content", file.content}});
    }
    const std::string send_reference =
        absl::StrCat(reference, "/", destination.office_number(), "/", destination.service_type());
    json body = {{"client_reference", send_reference},
                 {"to_office", destination.office_number()},
                 {"to_service_type", destination.service_type()},
                 {"files", std::move(files)}};
    auto response = client.Post("/api/v1/careplan/sends", body.dump(),
                                platform::IdempotencyKey::FromClientReference(send_reference));
    if (!response.ok()) return response.status();
    return ParseSent(response->body);
  }

  // Changes the evidence record of `send_id` by compare-and-set: `change` gets the record as
  // stored (empty, `exists` false, when there is none) and says whether to write it; it may run
  // more than once. Records are kept in the order they are made (evidence/<unix µs>/<send id>);
  // the index evidence-of/<send id>, written once, finds one again.
  absl::StatusOr<v1::EvidenceRecord> UpdateEvidence(
      const std::string& send_id,
      const std::function<absl::StatusOr<bool>(v1::EvidenceRecord& e, bool exists)>& change) {
    std::string index = kIndexPrefix + send_id;
    auto key = host().StoreGet(index);
    if (absl::IsNotFound(key.status())) {
      std::string fresh =
          absl::StrFormat("%s%016d/%s", kEvidencePrefix, absl::ToUnixMicros(host().Now()), send_id);
      auto indexed = host().StorePutIf(index, fresh, 0);
      key = indexed.ok()                        ? fresh
            : absl::IsAborted(indexed.status()) ? host().StoreGet(index)  // indexed meanwhile
                                                : absl::StatusOr<std::string>(indexed.status());
    }
    if (!key.ok()) return key.status();
    return host().StoreUpdateMessage<v1::EvidenceRecord>(*key, change);
  }

  // Sets the receiver's acknowledgement on an existing record (never makes one).
  absl::Status SetAcknowledged(const std::string& send_id, int64_t at, bool only_first) {
    return UpdateEvidence(send_id,
                          [&](v1::EvidenceRecord& e, bool exists) {
                            if (!exists || (only_first && e.has_acknowledge_time())) return false;
                            sdk::SetUnixSeconds(&e, &v1::EvidenceRecord::mutable_acknowledge_time,
                                                at);
                            return true;
                          })
        .status();
  }

  absl::StatusOr<v1::EvidenceRecord> FindEvidence(const std::string& send_id) {
    auto key = host().StoreGet(kIndexPrefix + send_id);
    if (!key.ok()) return key.status();
    auto stored = host().StoreGet(*key);
    if (!stored.ok()) return stored.status();
    v1::EvidenceRecord e;
    if (!e.ParseFromString(*stored)) return absl::DataLossError("an evidence record is unreadable");
    return e;
  }

  absl::StatusOr<v1::ListSentResponse> ListSent(const v1::ListSentRequest& req,
                                                const sdk::CallBase& call) {
    if (absl::Status s = CheckMonth(req.month()); !s.ok()) return s;
    auto answer = Platform(call).Get("/api/v1/careplan/sends" +
                                     (req.month().empty() ? "" : "?month=" + req.month()));
    if (!answer.ok()) return answer.status();
    auto units = ParseSentList(answer->body);
    if (!units.ok()) return units.status();
    // The platform answers with the month's every send; pages are cut here, in its order.
    auto window = sdk::PageOf(req, units->size());
    if (!window.ok()) return window.status();
    v1::ListSentResponse response;
    for (size_t i = window->begin; i < window->end; ++i) {
      v1::SentUnit& unit = (*units)[i];
      if (unit.has_acknowledge_time()) NoteAcknowledged(unit);
      *response.add_units() = std::move(unit);
    }
    response.set_next_page_token(window->next_page_token);
    return response;
  }

  // The receiver's acknowledgement, into the send's evidence.
  void NoteAcknowledged(const v1::SentUnit& unit) {
    auto e = FindEvidence(unit.send_id());
    if (!e.ok() || e->has_acknowledge_time()) return;
    SetAcknowledged(unit.send_id(), unit.acknowledge_time().seconds(), /*only_first=*/true)
        .IgnoreError();
  }

  absl::StatusOr<std::vector<v1::ReceivedUnit>> Received(const platform::CallClient& client,
                                                         const std::string& month) {
    if (absl::Status s = CheckMonth(month); !s.ok()) return s;
    auto answer =
        client.Get("/api/v1/careplan/received" + (month.empty() ? "" : "?month=" + month));
    if (!answer.ok()) return answer.status();
    auto units = ParseReceivedList(answer->body);
    if (!units.ok()) return units.status();
    for (auto& unit : *units) {
      auto evidence = FindEvidence(unit.send_id());
      if (evidence.ok()) *unit.mutable_fetch_time() = evidence->time();
    }
    return units;
  }

  absl::StatusOr<v1::ListReceivedResponse> ListReceived(const v1::ListReceivedRequest& req,
                                                        const sdk::CallBase& call) {
    auto units = Received(Platform(call), req.month());
    if (!units.ok()) return units.status();
    auto window = sdk::PageOf(req, units->size());  // in ファイル連番 order, as the platform lists
    if (!window.ok()) return window.status();
    v1::ListReceivedResponse response;
    for (size_t i = window->begin; i < window->end; ++i) {
      *response.add_units() = std::move((*units)[i]);
    }
    response.set_next_page_token(window->next_page_token);
    return response;
  }

  absl::StatusOr<v1::FetchReceivedResponse> Fetch(const v1::FetchReceivedRequest& req,
                                                  const sdk::CallBase& call) {
    if (req.send_id().empty()) return sdk::InvalidField("send_id", "REQUIRED", "must be set");
    platform::CallClient client = Platform(call);
    auto units = Received(client, "");
    if (!units.ok()) return units.status();
    auto unit = std::find_if(units->begin(), units->end(),
                             [&](const auto& u) { return u.send_id() == req.send_id(); });
    if (unit == units->end()) {
      return absl::NotFoundError("send_id: no unit '" + req.send_id() + "' sent to this office");
    }
    v1::FetchReceivedResponse response;
    cp::ReadOptions tolerant;
    tolerant.resolve_repeats = req.resolve_repeats();
    std::set<std::pair<std::string, std::string>> recipients;
    std::set<std::string> months;
    for (const v1::FileEvidence& listed : unit->files()) {
      auto file =
          client.Get(absl::StrCat("/api/v1/careplan/received/", PercentEncode(req.send_id()),
                                  "/files/", PercentEncode(listed.name())));
      if (!file.ok()) return file.status();
      if (absl::Status s = BusinessError(file->body); !s.ok()) return s;
      if (platform::Sha256Hex(file->body) != listed.sha256() ||
          static_cast<int64_t>(file->body.size()) != listed.size()) {
        return absl::DataLossError(
            absl::StrCat(listed.name(),
                         ": the bytes received do not match the SHA-256 and size the platform "
                         "lists; nothing was taken in"));
      }
      v1::CsvFile* csv = response.add_files();
      csv->set_name(listed.name());
      csv->set_content(file->body);
      auto result = cp::ReadCarePlanFile(listed.name(), file->body, tolerant);
      for (auto& f : result.findings) *response.add_findings() = std::move(f);
      if (!result.has_errors()) {
        auto r = Recipients(result.file);
        recipients.insert(r.begin(), r.end());
        const std::string& month = result.file.name().service_month();
        if (!month.empty() && month != "000000") months.insert(month);
        *response.add_typed_files() = std::move(result.file);
      }
    }
    v1::EvidenceRecord evidence;
    if (auto earlier = FindEvidence(req.send_id()); earlier.ok()) {
      evidence = *std::move(earlier);  // the first fetch stays the time of receipt
    } else {
      evidence.set_direction(v1::EvidenceRecord::DIRECTION_RECEIVED);
      evidence.set_send_id(unit->send_id());
      evidence.set_unit(unit->unit());
      evidence.set_counterpart_office(unit->from_office());
      evidence.set_counterpart_service_type(unit->from_service_type());
      sdk::SetUnixSeconds(&evidence, &v1::EvidenceRecord::mutable_time,
                          absl::ToUnixSeconds(host().Now()));
      if (unit->has_acknowledge_time()) {
        *evidence.mutable_acknowledge_time() = unit->acknowledge_time();
      }
      *evidence.mutable_files() = unit->files();
      for (const auto& [insurer, insured] : recipients) {
        evidence.add_recipient_refs(refs_.Of(insurer, insured));
      }
      months.insert(MonthOf(evidence.time().seconds()));
      for (const auto& m : months) evidence.add_months(m);
      // A fetch beside this one (another engine's) may record it first: its time stays.
      auto recorded = UpdateEvidence(req.send_id(), [&](v1::EvidenceRecord& e, bool exists) {
        if (exists) return false;
        e = evidence;
        return true;
      });
      if (!recorded.ok()) return recorded.status();
      evidence = *std::move(recorded);
    }
    // One record for the unit and one per recipient in its files (so `audit search` finds who
    // received a recipient's plan); fail closed: the files stay undisclosed.
    std::string detail = absl::StrCat("from ", unit->from_office(), " unit ", unit->unit());
    if (!host()
             .Audit(&call, Method("FetchReceived"), unit->send_id(), absl::StatusCode::kOk, detail)
             .ok()) {
      return sdk::HostServices::AuditUnavailable();
    }
    for (const auto& [insurer, insured] : recipients) {
      if (!host()
               .Audit(&call, Method("FetchReceived"), refs_.Of(insurer, insured),
                      absl::StatusCode::kOk, absl::StrCat(detail, " (", unit->send_id(), ")"))
               .ok()) {
        return sdk::HostServices::AuditUnavailable();
      }
    }
    *unit->mutable_fetch_time() = evidence.time();
    *response.mutable_unit() = *unit;
    return response;
  }

  absl::StatusOr<v1::AcknowledgeReceivedResponse> Acknowledge(
      const v1::AcknowledgeReceivedRequest& req, const sdk::CallBase& call) {
    if (req.send_id().empty()) return sdk::InvalidField("send_id", "REQUIRED", "must be set");
    auto evidence = FindEvidence(req.send_id());
    if (!evidence.ok()) {
      return absl::FailedPreconditionError(
          "send_id: fetch the unit before acknowledging it (nothing is kept of it yet)");
    }
    // Acknowledging is the same act however often it is done: one key per unit.
    auto answer = Platform(call).Post(
        absl::StrCat("/api/v1/careplan/received/", PercentEncode(req.send_id()), "/ack"), "{}",
        platform::IdempotencyKey::Derived(office_, "careplan/ack", {req.send_id()}));
    absl::StatusOr<int64_t> at =
        answer.ok() ? ParseAcknowledged(answer->body) : absl::StatusOr<int64_t>(answer.status());
    host()
        .Audit(&call, Method("AcknowledgeReceived"), req.send_id(), at.status().code())
        .IgnoreError();
    if (!at.ok()) return at.status();
    if (absl::Status s = SetAcknowledged(req.send_id(), *at, /*only_first=*/false); !s.ok()) {
      return s;
    }
    v1::AcknowledgeReceivedResponse response;
    sdk::SetUnixSeconds(&response, &v1::AcknowledgeReceivedResponse::mutable_acknowledge_time, *at);
    return response;
  }

  absl::StatusOr<v1::ExportEvidenceResponse> ExportEvidence(const v1::ExportEvidenceRequest& req,
                                                            const sdk::CallBase& call) {
    bool by_recipient = !req.insurer().value().empty() || !req.insured().value().empty();
    std::vector<std::string> refs;  // evidence kept before the engine's key carries the old one
    if (by_recipient) {
      if (absl::Status s = CheckRecipient(req); !s.ok()) return s;
      refs = refs_.AllOf(req.insurer().value(), req.insured().value());
    }
    auto stored = host().StoreList(kEvidencePrefix);
    if (!stored.ok()) return stored.status();
    std::vector<v1::EvidenceRecord> matching;
    for (const auto& [key, value] : *stored) {
      v1::EvidenceRecord e;
      if (!e.ParseFromString(value)) return absl::DataLossError(key + ": unreadable");
      if (by_recipient && std::none_of(refs.begin(), refs.end(), [&](const std::string& ref) {
            return std::find(e.recipient_refs().begin(), e.recipient_refs().end(), ref) !=
                   e.recipient_refs().end();
          })) {
        continue;
      }
      if (!req.month().empty() &&
          std::find(e.months().begin(), e.months().end(), req.month()) == e.months().end()) {
        continue;
      }
      matching.push_back(std::move(e));
    }
    auto window = sdk::PageOf(req, matching.size());
    if (!window.ok()) return window.status();
    v1::ExportEvidenceResponse response;
    for (size_t i = window->begin; i < window->end; ++i) {
      *response.add_records() = std::move(matching[i]);
    }
    response.set_next_page_token(window->next_page_token);
    std::string detail = absl::StrCat(response.records_size(), " records");
    return host().Disclose(&call, Method("ExportEvidence"), by_recipient ? refs.front() : "all",
                           absl::StatusOr<v1::ExportEvidenceResponse>(std::move(response)), detail);
  }

  absl::StatusOr<v1::SubmitCarePlanRequestNotificationResponse> Notify(
      const v1::SubmitCarePlanRequestNotificationRequest& req, const sdk::CallBase& call) {
    if (absl::Status s = CheckRecipient(req); !s.ok()) return s;
    if (req.kind() == v1::SubmitCarePlanRequestNotificationRequest::KIND_UNSPECIFIED) {
      return sdk::InvalidField("kind", "REQUIRED", "KIND_NEW or KIND_CHANGE");
    }
    if (!req.has_card() && !req.has_numbers()) {
      return sdk::InvalidField("identity", "REQUIRED", "card or numbers is required");
    }
    const std::string reference = NotificationReference(req);
    // A digest, like the sends' keys: the reference is the caller's to choose and may name the
    // recipient (store keys are not sealed).
    const std::string kept_key = kNotificationPrefix + platform::Sha256Hex(reference);
    // Filed before: the platform's receipt, as it answered then.
    if (auto kept = host().StoreGet(kept_key); kept.ok()) {
      v1::SubmitCarePlanRequestNotificationResponse receipt;
      if (!receipt.ParseFromString(*kept)) {
        return absl::DataLossError("the receipt of notification " + reference + " is unreadable");
      }
      return receipt;
    } else if (!absl::IsNotFound(kept.status())) {
      return kept.status();
    }
    platform::CallClient client = Platform(call);
    auto body = NotificationBody(req, reference, kept_key + "/request", client, call);
    if (!body.ok()) return body.status();
    std::string subject = refs_.Of(req.insurer().value(), req.insured().value());
    if (absl::Status s = host().AuditBegun(&call, Method("SubmitCarePlanRequestNotification"),
                                           subject, "the notification to the platform");
        !s.ok()) {
      return s;
    }
    auto answer = client.Post("/portal/v1/careplan-requests", body->dump(),
                              platform::IdempotencyKey::FromClientReference(reference));
    absl::StatusOr<v1::SubmitCarePlanRequestNotificationResponse> receipt =
        answer.ok()
            ? ParseReceipt(answer->body)
            : absl::StatusOr<v1::SubmitCarePlanRequestNotificationResponse>(answer.status());
    host()
        .Audit(&call, Method("SubmitCarePlanRequestNotification"), subject, receipt.status().code(),
               absl::StrCat("identity by ", (*body)["identity"].value("method", ""),
                            receipt.ok() ? " → " + receipt->notification_id() : ""))
        .IgnoreError();
    if (!receipt.ok()) {
      // Refused (the platform kept nothing under the key): the next try asks for a fresh
      // identity proof. Unanswered: the request stays, to be sent again as it is.
      if (answer.ok()) host().StoreDelete(kept_key + "/request").IgnoreError();
      return receipt.status();
    }
    auto recorded = host().StorePutIf(kept_key, receipt->SerializeAsString(), 0);
    if (!recorded.ok() && !absl::IsAborted(recorded.status())) return recorded.status();
    host().StoreDelete(kept_key + "/request").IgnoreError();
    return receipt;
  }

  // The notification's reference, which makes it happen once on the platform (the contract of
  // the 届出's Idempotency-Key, which is this reference): the caller's request_id, or,
  // without one, one derived from what the notification says — (office, recipient, kind, care
  // manager, the identity method and, by numbers, the birth date and documents; never the card's
  // proof, which differs on every try). The same notification again is the same one.
  std::string NotificationReference(const v1::SubmitCarePlanRequestNotificationRequest& req) const {
    if (!req.request_id().empty()) return req.request_id();
    std::string documents;
    if (req.has_numbers()) {
      const v1::Date& d = req.numbers().birth_date();
      documents = absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
      for (const auto& doc : req.numbers().documents_checked())
        absl::StrAppend(&documents, "\n", doc);
    }
    return platform::IdempotencyKey::Derived(
               office_, "careplan/request-notification",
               {req.insurer().value(), req.insured().value(),
                v1::SubmitCarePlanRequestNotificationRequest::Kind_Name(req.kind()),
                req.care_manager_name(), req.has_card() ? "card" : "numbers", documents})
        .value();
  }

  // The request as it leaves, kept under `request_key` before it does: a retry after the engine
  // died between the platform's answer and the save of the receipt sends these very bytes (the
  // card's proof included: a fresh proof would be another request under the same key, which the
  // platform refuses), and gets the platform's first answer.
  absl::StatusOr<json> NotificationBody(const v1::SubmitCarePlanRequestNotificationRequest& req,
                                        const std::string& reference,
                                        const std::string& request_key,
                                        const platform::CallClient& client,
                                        const sdk::CallBase& call) {
    auto kept = host().StoreGet(request_key);
    if (absl::IsNotFound(kept.status())) {
      json identity;
      if (req.has_card()) {
        auto proof = ProveCardHolder(host(), call, client, req.card().reader(), req.card().pin());
        if (!proof.ok()) return proof.status();
        identity = *std::move(proof);
        identity["method"] = "card";
      } else {
        const v1::Date& d = req.numbers().birth_date();
        absl::CivilDay day(d.year(), d.month(), d.day());
        if (d.year() < 1900 || day.month() != d.month() || day.day() != d.day()) {
          return sdk::InvalidField("numbers.birth_date", "CALENDAR_DATE", "not a calendar date");
        }
        if (req.numbers().documents_checked().empty()) {
          return sdk::InvalidField("numbers.documents_checked", "REQUIRED",
                                   "name the identity documents the care manager checked");
        }
        identity = {{"method", "numbers"},
                    {"birth_date", absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day())},
                    {"documents_checked",
                     json(std::vector<std::string>(req.numbers().documents_checked().begin(),
                                                   req.numbers().documents_checked().end()))}};
      }
      json body = {
          {"client_reference", reference},
          {"insurer_number", req.insurer().value()},
          {"insured_number", req.insured().value()},
          {"request_kind",
           req.kind() == v1::SubmitCarePlanRequestNotificationRequest::KIND_NEW ? "new" : "change"},
          {"planning_office", office_},
          {"care_manager_name", req.care_manager_name()},
          {"identity", identity}};
      auto written = host().StorePutIf(request_key, body.dump(), 0);
      if (written.ok()) return body;
      if (!absl::IsAborted(written.status())) return written.status();
      kept = host().StoreGet(request_key);  // a try beside this one kept its request first
    }
    if (!kept.ok()) return kept.status();
    json body = json::parse(*kept, nullptr, false);
    if (!body.is_object() || !body.contains("identity") || !body["identity"].is_object()) {
      return absl::DataLossError("the kept request of notification " + reference +
                                 " is unreadable");
    }
    return body;
  }

  const std::string office_;
  const CarePlanExchangeConfig config_;
  const platform::PlatformAccounts accounts_;
  RecipientRefs refs_{host()};
};

}  // namespace

sdk::PluginDefinition Define() { return DefineWith(nullptr); }

sdk::PluginDefinition DefineWith(platform::ClientFactory make_client) {
  sdk::PluginManifest m = InTreeManifest("careplan_exchange");
  m.security_posture =
      "Sends and receives care-plan files (要配慮個人情報) through the platform over TLS 1.3 with "
      "the office's client certificate; checks every file against the 4.1 standard before it "
      "leaves and the platform's SHA-256 when it arrives; keeps evidence of every exchange with "
      "keyed recipient references, never the numbers; PINs for card identification are passed "
      "to the card reader concern and never kept; audits every send, receipt and notification.";
  m.services = {"kaigo.v1.CarePlanExchangeService"};
  m.calls = {"/kaigo.v1.CardReaderService/AuthenticateHolder"};  // identity by card
  auto create =
      [make_client](
          sdk::HostServices host, const sdk::InstanceContext& context,
          CarePlanExchangeConfig config) -> absl::StatusOr<std::unique_ptr<sdk::Instance>> {
    if (config.service_type().size() != 2) {
      return absl::InvalidArgumentError(
          "service_type: the office's サービス種類コード (2 characters: 43, 46, 11, …) is "
          "required");
    }
    auto accounts = platform::PlatformAccounts::Connect(config.platform(), host,
                                                        /*needs_web_user=*/true, make_client);
    if (!accounts.ok()) return accounts.status();
    return std::make_unique<CarePlanExchange>(std::move(host), context.office, std::move(config),
                                              *std::move(accounts));
  };
  return sdk::DefinePlugin<CarePlanExchangeConfig>(std::move(m), std::move(create));
}

}  // namespace kaigo::plugins::careplan

#include "subsidy_filing.h"

#include <functional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "application_check.h"
#include "attachment_type.h"
#include "in_tree_manifest.h"
#include "kaigo/plugins/v1/platform_config.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/pagination.h"
#include "kaigo/sdk/response.h"
#include "kaigo/v1/subsidy.pb.h"
#include "nlohmann/json.hpp"
#include "platform_connection.h"
#include "platform_encoding.h"
#include "portal_answers.h"
#include "random_id.h"
#include "rules_source.h"
#include "subsidy_rules.h"

namespace kaigo::plugins::subsidy {

namespace {

namespace v1 = kaigo::v1;
namespace sdk = kaigo::sdk;
using kaigo::plugins::v1::SubsidyConfig;
using nlohmann::json;
using platform::PercentEncode;
using platform::Sha256Hex;

constexpr char kService[] = "/kaigo.v1.SubsidyService/";
constexpr char kAppPrefix[] = "app/";

std::string AttachmentKey(const std::string& app, const std::string& attachment) {
  return absl::StrCat("att/", app, "/", attachment);
}

const char* KindWord(v1::AttachmentKind kind) {
  switch (kind) {
    case v1::ATTACHMENT_KIND_PASSBOOK:
      return "passbook";
    case v1::ATTACHMENT_KIND_SERVICE_TYPE_DOCUMENT:
      return "service_type_document";
    default:
      return "receipt";
  }
}

bool Editable(const v1::SubsidyApplication& app) {
  return app.status() == v1::APPLICATION_STATUS_DRAFT ||
         app.status() == v1::APPLICATION_STATUS_RETURNED;
}

std::string Describe(const v1::ApplicationReport& report) {
  std::vector<std::string> lines;
  for (const auto& f : report.errors()) {
    lines.push_back(absl::StrCat(f.field(), ": ", f.message(), " (rule: ", f.rule(), ")"));
  }
  return absl::StrJoin(lines, "; ");
}

// FAILED_PRECONDITION naming every rule the application breaks: in the message, and one
// PreconditionFailure violation per finding (subject: the field; type: the rule) for programs.
absl::Status RulesBroken(const v1::ApplicationReport& report) {
  std::vector<sdk::PreconditionViolation> violations;
  for (const auto& f : report.errors()) {
    violations.push_back({"SUBSIDY_RULE: " + f.rule(), f.field(), f.message()});
  }
  absl::Status broken = absl::FailedPreconditionError("the application breaks the subsidy rules: " +
                                                      Describe(report));
  broken = sdk::WithPreconditionFailure(std::move(broken), violations);
  broken = sdk::WithErrorInfo(std::move(broken), "SUBSIDY_RULES_BROKEN",
                              {{"findings", std::to_string(report.errors_size())}});
  return sdk::WithStaffMessage(
      std::move(broken),
      absl::StrCat("申請内容が補助金の要件を満たしていません（", report.errors_size(), "件）"));
}

// The application as the portal's form takes it.
json PortalForm(const v1::SubsidyApplication& app, const std::string& client_reference) {
  const auto& f = app.form();
  json types = json::array();
  for (const auto& t : f.service_types()) types.push_back(t.value());
  json attachments = json::array();
  for (const auto& a : app.attachments()) {
    json item = {{"attachment_id", a.portal_id()}, {"kind", KindWord(a.kind())}};
    if (a.kind() == v1::ATTACHMENT_KIND_RECEIPT) {
      item["receipt"] = {
          {"covers", a.receipt().covers() == v1::RECEIPT_COVERS_READERS ? "readers" : "support"},
          {"amount", a.receipt().amount().amount()}};
    }
    attachments.push_back(std::move(item));
  }
  const auto& b = f.bank();
  return {{"client_reference", client_reference},
          {"office_name", f.office_name()},
          {"address", f.address()},
          {"phone", f.phone()},
          {"service_types", types},
          {"reader",
           {{"cost", f.readers().cost().amount()},
            {"model", f.readers().model()},
            {"count", f.readers().count()},
            {"supports_qualification_app", f.readers().supports_qualification_app()}}},
          {"support_cost", f.support_cost().amount()},
          {"grant_requested", app.grant().grant().amount()},
          {"bank",
           {{"kind", b.kind() == v1::BANK_KIND_YUCHO ? "yucho" : "bank"},
            {"bank_name", b.bank_name()},
            {"bank_code", b.bank_code()},
            {"branch_name", b.branch_name()},
            {"branch_code", b.branch_code()},
            {"account_type", b.account_type() == v1::ACCOUNT_TYPE_CURRENT ? "current" : "ordinary"},
            {"account_number", b.account_number()},
            {"holder_kana", b.holder_kana()}}},
          {"attachments", attachments}};
}

class SubsidyFiling : public sdk::Instance {
 public:
  SubsidyFiling(sdk::HostServices host, std::string office, std::unique_ptr<RulesSource> rules,
                platform::PlatformAccounts accounts)
      : Instance(std::move(host)),
        office_(std::move(office)),
        rules_(std::move(rules)),
        accounts_(std::move(accounts)) {
    Unary<v1::GetRulesRequest, v1::GetRulesResponse>(
        Method("GetRules"), [this](const v1::GetRulesRequest&, auto call) {
          v1::GetRulesResponse response;
          *response.mutable_rules() = *rules_->Current();
          call->Finish(response);
        });
    Unary<v1::EstimateRequest, v1::EstimateResponse>(
        Method("Estimate"), [this](const v1::EstimateRequest& req, auto call) {
          auto estimate = Estimate(*rules_->Current(), req);
          estimate.ok() ? call->Finish(*estimate) : call->Finish(estimate.status());
        });
    BlockingAnswer(Method("CreateApplication"), &SubsidyFiling::Create,
                   &v1::CreateApplicationResponse::mutable_application);
    BlockingAnswer(Method("UpdateApplication"), &SubsidyFiling::Update,
                   &v1::UpdateApplicationResponse::mutable_application);
    BlockingAnswer(Method("GetApplication"), &SubsidyFiling::Get,
                   &v1::GetApplicationResponse::mutable_application);
    BlockingUnary<v1::ListApplicationsRequest, v1::ListApplicationsResponse>(
        Method("ListApplications"),
        [this](const v1::ListApplicationsRequest& req, const sdk::CallBase&) { return List(req); });
    BlockingAnswer(Method("AddAttachment"), &SubsidyFiling::AddAttachment,
                   &v1::AddAttachmentResponse::mutable_application);
    BlockingAnswer(Method("RemoveAttachment"), &SubsidyFiling::RemoveAttachment,
                   &v1::RemoveAttachmentResponse::mutable_application);
    BlockingAnswer(Method("ValidateApplication"), &SubsidyFiling::Validate,
                   &v1::ValidateApplicationResponse::mutable_report);
    BlockingAnswer(Method("SubmitApplication"), &SubsidyFiling::Submit,
                   &v1::SubmitApplicationResponse::mutable_application);
    BlockingAnswer(Method("GetStatus"), &SubsidyFiling::GetStatus,
                   &v1::GetStatusResponse::mutable_status);
  }

 private:
  static std::string Method(const char* name) { return std::string(kService) + name; }

  absl::StatusOr<v1::SubsidyApplication> Get(const v1::GetApplicationRequest& req,
                                             const sdk::CallBase&) {
    return Load(req.id());
  }

  // INVALID_ARGUMENT when the request's application id (`field`) is empty.
  static absl::Status RequireId(const std::string& id, const char* field) {
    if (!id.empty()) return absl::OkStatus();
    return sdk::InvalidField(field, "REQUIRED", "must be set");
  }

  static absl::Status NoSuchApplication(const std::string& id, const char* field) {
    return sdk::WithResourceInfo(
        absl::NotFoundError(absl::StrCat(field, ": no application '", id, "' for this office")),
        "kaigo.v1.SubsidyApplication", id);
  }

  absl::StatusOr<v1::SubsidyApplication> Load(const std::string& id) {
    if (absl::Status s = RequireId(id, "id"); !s.ok()) return s;
    auto stored = host().StoreGet(kAppPrefix + id);
    if (!stored.ok()) {
      if (absl::IsNotFound(stored.status())) return NoSuchApplication(id, "id");
      return stored.status();
    }
    v1::SubsidyApplication app;
    if (!app.ParseFromString(*stored))
      return absl::DataLossError("application " + id + " unreadable");
    return app;
  }

  // Changes the stored application `id` by compare-and-set, so a change made meanwhile by another
  // call or another engine is never overwritten: `change` edits the application as stored now
  // (it may run more than once, so it only computes) and says whether to write it.
  using AppChange = std::function<absl::StatusOr<bool>(v1::SubsidyApplication& app)>;
  absl::StatusOr<v1::SubsidyApplication> Change(const std::string& id, const AppChange& change,
                                                const char* field = "id") {
    if (absl::Status s = RequireId(id, field); !s.ok()) return s;
    return host().StoreUpdateMessage<v1::SubsidyApplication>(
        kAppPrefix + id, [&](v1::SubsidyApplication& app, bool exists) -> absl::StatusOr<bool> {
          if (!exists) return NoSuchApplication(id, field);
          return change(app);
        });
  }

  // Whether the office may change the draft now, as read at `revision` (0: not checked).
  static absl::Status CheckEditable(const v1::SubsidyApplication& app, int64_t revision) {
    if (!Editable(app)) {
      return sdk::WithErrorInfo(
          absl::FailedPreconditionError("id: application " + app.id() +
                                        " has been submitted and cannot be changed"),
          "APPLICATION_SUBMITTED", {{"status", v1::ApplicationStatus_Name(app.status())}});
    }
    if (app.filing_revision() != 0) {
      return absl::AbortedError(absl::StrCat("id: application ", app.id(), " is being submitted (",
                                             "revision ", app.filing_revision(),
                                             "); try again once the Submit has answered"));
    }
    return CheckRevision(app, revision);
  }

  static absl::Status CheckRevision(const v1::SubsidyApplication& app, int64_t revision) {
    if (revision == 0 || revision == app.revision()) return absl::OkStatus();
    return absl::AbortedError(absl::StrCat("revision: the application is at revision ",
                                           app.revision(), ", not ", revision,
                                           ": it changed since it was read; read it again"));
  }

  // A change of the draft's content: a new revision, and the grant as the form now gives it.
  void Revise(v1::SubsidyApplication& app) const {
    app.set_revision(app.revision() + 1);
    auto grant = EstimateForm(*rules_->Current(), app.form());
    if (grant.ok()) {
      *app.mutable_grant() = *grant;
    } else {
      app.clear_grant();
    }
  }

  absl::StatusOr<v1::SubsidyApplication> Create(const v1::CreateApplicationRequest& req,
                                                const sdk::CallBase&) {
    v1::SubsidyApplication app;
    // With a request_id the draft's id is derived from it, so a create run again after an engine
    // died mid-way (RequestOnce takes an abandoned request over) finds its draft, not a second.
    app.set_id("app-" + (req.request_id().empty()
                             ? RandomHex(8)
                             : platform::Sha256Hex("create/" + req.request_id()).substr(0, 16)));
    app.mutable_office()->set_value(office_);
    *app.mutable_form() = req.form();
    app.set_status(v1::APPLICATION_STATUS_DRAFT);
    *app.mutable_create_date() = ToDate(host().Today());
    Revise(app);
    auto written = host().StorePutIf(kAppPrefix + app.id(), app.SerializeAsString(), 0);
    if (absl::IsAborted(written.status()) && !req.request_id().empty()) return Load(app.id());
    if (!written.ok()) return written.status();
    return app;
  }

  absl::StatusOr<v1::SubsidyApplication> Update(const v1::UpdateApplicationRequest& req,
                                                const sdk::CallBase&) {
    return Change(req.id(), [&](v1::SubsidyApplication& app) -> absl::StatusOr<bool> {
      if (absl::Status s = CheckEditable(app, req.revision()); !s.ok()) return s;
      *app.mutable_form() = req.form();
      Revise(app);
      return true;
    });
  }

  // In the order of their ids.
  absl::StatusOr<v1::ListApplicationsResponse> List(const v1::ListApplicationsRequest& req) {
    auto stored = host().StoreList(kAppPrefix);
    if (!stored.ok()) return stored.status();
    auto window = sdk::PageOf(req, stored->size());
    if (!window.ok()) return window.status();
    v1::ListApplicationsResponse response;
    for (size_t i = window->begin; i < window->end; ++i) {
      const auto& [key, value] = (*stored)[i];
      if (!response.add_applications()->ParseFromString(value)) {
        return absl::DataLossError(key + " unreadable");
      }
    }
    response.set_next_page_token(window->next_page_token);
    return response;
  }

  absl::StatusOr<v1::SubsidyApplication> AddAttachment(const v1::AddAttachmentRequest& req,
                                                       const sdk::CallBase&) {
    const v1::AttachmentRule* rule = nullptr;
    auto rules = rules_->Current();
    for (const auto& r : rules->attachments()) {
      if (r.kind() == req.kind()) rule = &r;
    }
    if (rule == nullptr) {
      return sdk::InvalidField("kind", "REQUIRED",
                               "passbook, service_type_document or receipt is required");
    }
    if (static_cast<int64_t>(req.content().size()) > rules->attachment_max_bytes()) {
      return sdk::InvalidField(
          "content", "FILE_SIZE",
          absl::StrCat(req.content().size(), " bytes; each file may be at most ",
                       rules->attachment_max_bytes(), " bytes (",
                       rules->attachment_max_bytes() >> 20, " MB)"),
          absl::StrCat("添付ファイルは1件", rules->attachment_max_bytes() >> 20, "MBまでです"));
    }
    auto type = DetectFileType(req.content());
    if (!type.ok()) return type.status();
    if (req.file_name().empty()) return sdk::InvalidField("file_name", "REQUIRED", "must be set");
    if (req.kind() == v1::ATTACHMENT_KIND_RECEIPT) {
      if (req.receipt().covers() == v1::RECEIPT_COVERS_UNSPECIFIED) {
        return sdk::InvalidField(
            "receipt.covers", "REQUIRED",
            "say whether the receipt is for the readers (A) or the support (B)");
      }
      if (req.receipt().amount().amount() <= 0) {
        return sdk::InvalidField("receipt.amount.amount", "RANGE", "the amount paid, above zero");
      }
    } else if (req.has_receipt()) {
      return sdk::InvalidField("receipt", "RECEIPT_ONLY", "only receipts carry receipt details");
    }
    if (absl::Status s = RequireId(req.application_id(), "application_id"); !s.ok()) return s;
    v1::Attachment added;
    added.set_id("att-" + RandomHex(6));
    added.set_kind(req.kind());
    added.set_file_name(req.file_name());
    added.set_detected_type(*type);
    added.set_size_bytes(static_cast<int64_t>(req.content().size()));
    added.set_sha256(Sha256Hex(req.content()));
    if (req.has_receipt()) *added.mutable_receipt() = req.receipt();
    // The content first, under its own new key; the draft names it only once it is there.
    const std::string content_key = AttachmentKey(req.application_id(), added.id());
    if (auto s = host().StorePut(content_key, req.content()); !s.ok()) return s;
    auto saved = Change(
        req.application_id(),
        [&](v1::SubsidyApplication& app) -> absl::StatusOr<bool> {
          if (absl::Status s = CheckEditable(app, 0); !s.ok()) return s;
          int same_kind = 0;
          for (const auto& a : app.attachments()) same_kind += a.kind() == req.kind();
          if (same_kind >= rule->max_files()) {
            std::string limit =
                absl::StrCat("at most ", rule->max_files(), " file(s) of this kind");
            absl::Status full =
                absl::FailedPreconditionError(absl::StrCat("kind: ", limit, "; remove one first"));
            full = sdk::WithPreconditionFailure(std::move(full),
                                                {{"SUBSIDY_RULE: attachments", "kind", limit}});
            return sdk::WithErrorInfo(std::move(full), "ATTACHMENT_LIMIT",
                                      {{"kind", v1::AttachmentKind_Name(req.kind())},
                                       {"max_files", std::to_string(rule->max_files())}});
          }
          *app.add_attachments() = added;
          Revise(app);
          return true;
        },
        "application_id");
    if (!saved.ok()) host().StoreDelete(content_key).IgnoreError();
    return saved;
  }

  absl::StatusOr<v1::SubsidyApplication> RemoveAttachment(const v1::RemoveAttachmentRequest& req,
                                                          const sdk::CallBase&) {
    auto saved = Change(
        req.application_id(),
        [&](v1::SubsidyApplication& app) -> absl::StatusOr<bool> {
          if (absl::Status s = CheckEditable(app, 0); !s.ok()) return s;
          auto* list = app.mutable_attachments();
          for (int i = 0; i < list->size(); ++i) {
            if (list->Get(i).id() != req.attachment_id()) continue;
            list->DeleteSubrange(i, 1);
            Revise(app);
            return true;
          }
          return absl::NotFoundError("attachment_id: no attachment '" + req.attachment_id() + "'");
        },
        "application_id");
    if (saved.ok()) {
      host().StoreDelete(AttachmentKey(req.application_id(), req.attachment_id())).IgnoreError();
    }
    return saved;
  }

  // The office's web-service user for the call's role.
  platform::CallClient Platform(const sdk::CallBase& call) const {
    return accounts_.ClientFor(call);
  }

  // The portal's record of this office's applications, less `app`'s current filing.
  absl::StatusOr<std::vector<PriorApplication>> Prior(const platform::CallClient& client,
                                                      const v1::SubsidyApplication& app) {
    auto response = client.Get("/portal/v1/subsidy/applications");
    if (!response.ok()) return response.status();
    auto prior = ParseApplications(response->body);
    if (!prior.ok()) return prior.status();
    std::vector<PriorApplication> others;
    for (auto& p : *prior) {
      bool current = !app.portal_application_id().empty() &&
                     p.portal_id == app.portal_application_id() &&
                     app.status() != v1::APPLICATION_STATUS_RETURNED;
      if (!current) others.push_back(std::move(p));
    }
    return others;
  }

  absl::StatusOr<v1::ApplicationReport> Validate(const v1::ValidateApplicationRequest& req,
                                                 const sdk::CallBase& call) {
    absl::CivilDay day = host().Today();
    if (req.has_application_date()) {
      if (!IsCalendarDate(req.application_date())) {
        return sdk::InvalidField("application_date", "CALENDAR_DATE", "not a calendar date");
      }
      day = ToCivilDay(req.application_date());
    }
    auto app = Load(req.id());
    if (!app.ok()) return app.status();
    auto prior = Prior(Platform(call), *app);
    v1::ApplicationReport report = CheckApplication(
        *rules_->Current(), *app, day, prior.ok() ? *prior : std::vector<PriorApplication>{});
    if (!prior.ok()) {
      auto* w = report.add_warnings();
      w->set_field("office");
      w->set_rule("one application per office number");
      w->set_message("the portal's list of earlier applications could not be read (" +
                     std::string(prior.status().message()) + "); checked without it");
    }
    return report;
  }

  absl::StatusOr<v1::SubsidyApplication> Submit(const v1::SubmitApplicationRequest& req,
                                                const sdk::CallBase& call) {
    absl::StatusOr<v1::SubsidyApplication> app = Load(req.id());
    if (!app.ok()) return app.status();
    if (!Editable(*app)) return *app;  // already filed: a retry gets the same answer
    if (absl::Status s = CheckRevision(*app, req.revision()); !s.ok()) return s;
    if (app->status() == v1::APPLICATION_STATUS_RETURNED &&
        app->submitted_revision() == app->revision()) {
      std::vector<sdk::PreconditionViolation> reasons;
      for (const auto& reason : app->return_reasons()) {
        reasons.push_back({"PORTAL_RETURN_REASON", "id", reason});
      }
      absl::Status unchanged = absl::FailedPreconditionError(
          "id: nothing has changed since the portal returned the application; fix what its "
          "reasons say first: " +
          absl::StrJoin(app->return_reasons(), " / "));
      unchanged = sdk::WithPreconditionFailure(std::move(unchanged), reasons);
      return sdk::WithErrorInfo(std::move(unchanged), "UNCHANGED_SINCE_RETURNED");
    }
    // The filing is taken in the store first: changes wait (ABORTED) until it ends, on every
    // engine. A Submit of the same revision beside this one, or retried after the engine
    // stopped mid-filing, goes on: the portal sees one application (client_reference), and each
    // attachment once (see File).
    const int64_t revision = app->revision();
    const bool resuming = app->filing_revision() == revision;
    app = Change(req.id(), [&](v1::SubsidyApplication& current) -> absl::StatusOr<bool> {
      if (!Editable(current)) return false;  // filed meanwhile
      if (absl::Status s = CheckRevision(current, revision); !s.ok()) return s;
      if (current.filing_revision() == revision) return false;
      current.set_filing_revision(revision);
      return true;
    });
    if (!app.ok()) return app.status();
    if (!Editable(*app)) return *app;
    absl::StatusOr<Filed> filed = File(*app, resuming, call);
    if (!filed.ok()) {
      Change(req.id(), [&](v1::SubsidyApplication& current) -> absl::StatusOr<bool> {
        if (current.filing_revision() != revision) return false;
        current.clear_filing_revision();
        return true;
      }).IgnoreError();
      return filed.status();
    }
    // The filing is recorded on the draft as stored now (another Submit may have recorded it).
    return Change(req.id(), [&](v1::SubsidyApplication& current) -> absl::StatusOr<bool> {
      if (!Editable(current)) return false;
      if (!current.portal_application_id().empty()) {
        current.add_earlier_portal_application_ids(current.portal_application_id());
      }
      current.set_portal_application_id(filed->portal_id);
      *current.mutable_submit_date() = filed->submitted_on;
      current.set_status(filed->status == v1::APPLICATION_STATUS_UNSPECIFIED
                             ? v1::APPLICATION_STATUS_SUBMITTED
                             : filed->status);
      current.set_submitted_revision(revision);
      current.clear_filing_revision();
      current.clear_return_reasons();
      return true;
    });
  }

  // Checks `app` against the rules, uploads its attachments and files it on the portal. Each
  // attachment's portal id is kept as soon as the portal gives it, so a retry uploads it once.
  //
  // Exactly once on the portal — the contract of each POST's Idempotency-Key, both made of what
  // the draft `app/<id>` holds before the POST leaves and cannot change while it is filed
  // (filing_revision):
  //   - an attachment: derived from (office, the draft's id, the attachment's id, its SHA-256);
  //     the engine dying after the portal took it and before its portal id was kept uploads it
  //     again under the same key, and the portal answers with the same attachment;
  //   - the application: its client_reference "<draft id>-r<revision>"; a retry sends the same
  //     form (the same attachments' portal ids) and gets the same application.
  // `resuming`: this revision's filing was begun before (by a Submit that stopped, or is still
  // running beside this one). Its rules were checked then and the draft has not changed since;
  // checking again could only refuse what the portal may already have filed (the portal's list
  // would show this very application as the office's earlier one), so the portal's answer to the
  // same keys decides.
  absl::StatusOr<Filed> File(v1::SubsidyApplication& app, bool resuming,
                             const sdk::CallBase& call) {
    platform::CallClient client = Platform(call);
    if (!resuming) {
      auto prior = Prior(client, app);
      if (!prior.ok()) return prior.status();
      v1::ApplicationReport report =
          CheckApplication(*rules_->Current(), app, host().Today(), *prior);
      if (!report.ok()) return RulesBroken(report);
    }
    // The attachments and the form (bank details) leave for the portal: recorded first.
    if (absl::Status s =
            host().AuditBegun(&call, Method("SubmitApplication"), app.id(), "the filing");
        !s.ok()) {
      return s;
    }
    for (auto& a : *app.mutable_attachments()) {
      if (!a.portal_id().empty()) continue;
      auto content = host().StoreGet(AttachmentKey(app.id(), a.id()));
      if (!content.ok()) return content.status();
      auto uploaded =
          client.Post(absl::StrCat("/portal/v1/subsidy/attachments?kind=", KindWord(a.kind()),
                                   "&file_name=", PercentEncode(a.file_name())),
                      *content,
                      platform::IdempotencyKey::Derived(office_, "subsidy/attachment",
                                                        {app.id(), a.id(), a.sha256()}),
                      "application/octet-stream");
      if (!uploaded.ok()) return uploaded.status();
      auto id = ParseUploaded(uploaded->body);
      if (!id.ok()) return id.status();
      a.set_portal_id(*id);
      auto kept = Change(app.id(), [&](v1::SubsidyApplication& current) -> absl::StatusOr<bool> {
        for (auto& stored : *current.mutable_attachments()) {
          if (stored.id() == a.id()) stored.set_portal_id(*id);
        }
        return true;
      });
      if (!kept.ok()) return kept.status();
    }
    const std::string reference = absl::StrCat(app.id(), "-r", app.revision());
    auto response =
        client.Post("/portal/v1/subsidy/applications", PortalForm(app, reference).dump(),
                    platform::IdempotencyKey::FromClientReference(reference));
    absl::StatusOr<Filed> filed =
        response.ok() ? ParseFiled(response->body) : absl::StatusOr<Filed>(response.status());
    host()
        .Audit(&call, Method("SubmitApplication"), app.id(), filed.status().code(),
               filed.ok() ? filed->portal_id : std::string(filed.status().message()))
        .IgnoreError();
    return filed;
  }

  absl::StatusOr<v1::SubsidyStatus> GetStatus(const v1::GetStatusRequest& req,
                                              const sdk::CallBase& call) {
    auto app = Load(req.id());
    if (!app.ok()) return app.status();
    if (app->portal_application_id().empty()) {
      v1::SubsidyStatus status;
      status.set_application_id(app->id());
      status.set_status(v1::APPLICATION_STATUS_DRAFT);
      return status;
    }
    auto response = Platform(call).Get("/portal/v1/subsidy/applications/" +
                                       PercentEncode(app->portal_application_id()));
    if (!response.ok()) return response.status();
    auto status = ParseStatus(response->body);
    if (!status.ok()) return status.status();
    status->set_application_id(app->id());
    bool changed = false;  // the application may have changed while the portal answered
    auto saved = Change(req.id(), [&](v1::SubsidyApplication& current) -> absl::StatusOr<bool> {
      changed = current.portal_application_id() == status->portal_application_id() &&
                current.status() != status->status();
      if (!changed) return false;
      current.set_status(status->status());
      *current.mutable_return_reasons() = status->return_reasons();
      return true;
    });
    if (!saved.ok()) return saved.status();
    if (changed) {
      host()
          .Audit(&call, Method("GetStatus"), saved->id(), absl::StatusCode::kOk,
                 v1::ApplicationStatus_Name(status->status()))
          .IgnoreError();
    }
    return status;
  }

  const std::string office_;
  std::unique_ptr<RulesSource> rules_;
  const platform::PlatformAccounts accounts_;
};

}  // namespace

sdk::PluginDefinition Define() { return DefineWith(nullptr); }

sdk::PluginDefinition DefineWith(platform::ClientFactory make_client) {
  sdk::PluginManifest m = InTreeManifest("subsidy_filing");
  m.security_posture =
      "Files the office's subsidy application on the portal over TLS 1.3 with the office's "
      "client certificate; keeps drafts, bank details and attachments in the engine's store for "
      "this office only; audits every submission and status change.";
  m.services = {"kaigo.v1.SubsidyService"};
  auto create = [make_client](
                    sdk::HostServices host, const sdk::InstanceContext& context,
                    SubsidyConfig config) -> absl::StatusOr<std::unique_ptr<sdk::Instance>> {
    if (config.rules_file().empty()) {
      return absl::InvalidArgumentError("rules_file: the subsidy rules file is required");
    }
    if (config.rules_check_seconds() < 0) {
      return absl::InvalidArgumentError("rules_check_seconds: must be 0 or more");
    }
    int check = config.rules_check_seconds() > 0 ? config.rules_check_seconds() : 10;
    auto rules = RulesSource::Open(config.rules_file(), absl::Seconds(check),
                                   [host](const std::string& message) { host.Warn(message); });
    if (!rules.ok()) {
      return absl::InvalidArgumentError("rules_file: " + std::string(rules.status().message()));
    }
    auto accounts = platform::PlatformAccounts::Connect(config.platform(), host,
                                                        /*needs_web_user=*/true, make_client);
    if (!accounts.ok()) return accounts.status();
    return std::make_unique<SubsidyFiling>(std::move(host), context.office, *std::move(rules),
                                           *std::move(accounts));
  };
  return sdk::DefinePlugin<SubsidyConfig>(std::move(m), std::move(create));
}

}  // namespace kaigo::plugins::subsidy

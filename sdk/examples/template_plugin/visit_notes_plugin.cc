#include "visit_notes_plugin.h"

#include <cstdio>

#include "acme/visitnotes/v1/visit_notes.pb.h"
#include "kaigo/identifiers.h"
#include "kaigo/sdk/error_details.h"

namespace acme {
namespace {

namespace vn = acme::visitnotes::v1;

using kaigo::sdk::ForField;
using kaigo::sdk::InvalidField;

// Store keys: "note/<insurer>/<insured>/<sequence>", so a prefix lists one recipient in order.
std::string Prefix(const kaigo::v1::RecipientKey& r) {
  return "note/" + r.insurer().value() + "/" + r.insured().value() + "/";
}

absl::Status ValidateRecipient(const kaigo::v1::RecipientKey& r, const std::string& field) {
  // A refusal names the request field's path and the rule, for a program (a BadRequest).
  if (auto s = kaigo::ValidateInsurerNumber(r.insurer().value()); !s.ok()) {
    return ForField(s, field + ".insurer.value", "INSURER_NUMBER");
  }
  return ForField(kaigo::ValidateInsuredNumber(r.insured().value()), field + ".insured.value",
                  "INSURED_NUMBER");
}

class VisitNotes : public kaigo::sdk::Instance {
 public:
  VisitNotes(kaigo::sdk::HostServices host, vn::VisitNotesConfig config)
      : Instance(std::move(host)), config_(std::move(config)) {
    // The store blocks, so both handlers run on the instance's worker pool.
    BlockingUnary<vn::AddNoteRequest, vn::AddNoteResponse>(
        "/acme.visitnotes.v1.VisitNoteService/AddNote",
        [this](const vn::AddNoteRequest& req, const kaigo::sdk::CallBase& call) {
          return Add(req, call);
        });
    ServerStreaming<vn::ListNotesRequest, vn::VisitNote>(
        "/acme.visitnotes.v1.VisitNoteService/ListNotes",
        [this](const vn::ListNotesRequest& req,
               std::shared_ptr<kaigo::sdk::ServerStream<vn::VisitNote>> call) {
          Workers().Submit([this, req, call] { List(req, *call); });
        });
  }

 private:
  absl::StatusOr<vn::AddNoteResponse> Add(const vn::AddNoteRequest& req,
                                          const kaigo::sdk::CallBase& call) {
    if (auto s = ValidateRecipient(req.note().recipient(), "note.recipient"); !s.ok()) return s;
    int max = config_.max_note_bytes() > 0 ? config_.max_note_bytes() : 4000;
    if (req.note().text().empty() || static_cast<int>(req.note().text().size()) > max) {
      return InvalidField("note.text", "TEXT_LENGTH",
                          "must be 1 to " + std::to_string(max) + " bytes",
                          "記録は1〜" + std::to_string(max) + "バイトで入力してください");
    }
    auto existing = host().StoreList(Prefix(req.note().recipient()));
    if (!existing.ok()) return absl::UnavailableError("the notes could not be read");
    char sequence[16];
    snprintf(sequence, sizeof sequence, "%08zu", existing->size());
    auto stored =
        host().StorePut(Prefix(req.note().recipient()) + sequence, req.note().SerializeAsString());
    if (!stored.ok()) return absl::UnavailableError("the note could not be stored");
    host()
        .Audit(&call, "AddNote", req.note().recipient().insurer().value() + "/…",
               absl::StatusCode::kOk)
        .IgnoreError();
    vn::AddNoteResponse response;
    response.set_notes_for_recipient(static_cast<int>(existing->size()) + 1);
    return response;
  }

  void List(const vn::ListNotesRequest& req, kaigo::sdk::ServerStream<vn::VisitNote>& call) {
    if (auto s = ValidateRecipient(req.recipient(), "recipient"); !s.ok()) {
      call.Finish(s);
      return;
    }
    auto notes = host().StoreList(Prefix(req.recipient()));
    if (!notes.ok()) {
      call.Finish(absl::UnavailableError("the notes could not be read"));
      return;
    }
    for (const auto& [key, value] : *notes) {
      vn::VisitNote note;
      if (note.ParseFromString(value) && !call.Write(note)) break;
    }
    call.Finish(absl::OkStatus());
  }

  const vn::VisitNotesConfig config_;
};

}  // namespace

kaigo::sdk::PluginDefinition DefineVisitNotes() {
  kaigo::sdk::PluginManifest m;
  m.name = "visit_notes";
  m.version = "1.0.0";
  m.vendor = "ACME Care Software";
  m.status = "alpha";
  m.security_posture = "Keeps notes in the host store; talks to nothing else.";
  m.services = {"acme.visitnotes.v1.VisitNoteService"};
  auto create =
      [](kaigo::sdk::HostServices host, const kaigo::sdk::InstanceContext&,
         vn::VisitNotesConfig config) -> absl::StatusOr<std::unique_ptr<kaigo::sdk::Instance>> {
    return std::make_unique<VisitNotes>(std::move(host), std::move(config));
  };
  return kaigo::sdk::DefinePlugin<vn::VisitNotesConfig>(std::move(m), std::move(create));
}

}  // namespace acme

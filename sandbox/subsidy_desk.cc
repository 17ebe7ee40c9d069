#include "sandbox/subsidy_desk.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "sandbox/sqlite_query.h"

namespace kaigo::sandbox {

using nlohmann::json;

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS subsidy_outcomes (office TEXT PRIMARY KEY,
  outcome TEXT NOT NULL,  -- approve | return
  reasons TEXT NOT NULL); -- JSON array, for return
CREATE TABLE IF NOT EXISTS subsidy_uploads (id TEXT PRIMARY KEY, office TEXT NOT NULL,
  kind TEXT NOT NULL, file_name TEXT NOT NULL, type TEXT NOT NULL, sha256 TEXT NOT NULL,
  size INTEGER NOT NULL, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS subsidy_applications (id TEXT PRIMARY KEY, office TEXT NOT NULL,
  client_reference TEXT NOT NULL, submitted_on TEXT NOT NULL, status TEXT NOT NULL,
  body TEXT NOT NULL, granted INTEGER NOT NULL DEFAULT 0, reasons TEXT NOT NULL DEFAULT '[]',
  paid_on TEXT NOT NULL DEFAULT '', UNIQUE (office, client_reference));
CREATE TABLE IF NOT EXISTS subsidy_events (application TEXT NOT NULL, seq INTEGER NOT NULL,
  status TEXT NOT NULL, day TEXT NOT NULL, note TEXT NOT NULL, PRIMARY KEY (application, seq));
)sql";

// The highest cap of any category: the sandbox grants what was asked, never more than this.
constexpr int64_t kHighestCap = 64000;

std::string SniffType(const std::string& content) {
  if (absl::StartsWith(content, "%PDF-")) return "pdf";
  if (absl::StartsWith(content, "\xFF\xD8\xFF")) return "jpeg";
  if (absl::StartsWith(content, std::string("\x89PNG\r\n\x1A\n", 8))) return "png";
  return "";
}

BusinessError Refuse(std::string code, std::string message, json extra = json::object()) {
  return BusinessError{std::move(code), std::move(message), std::move(extra)};
}

// The first day of the month after `day` ("YYYY-MM-DD").
std::string FirstOfNextMonth(const std::string& day) {
  int y = 0, m = 0, d = 0;
  if (sscanf(day.c_str(), "%d-%d-%d", &y, &m, &d) != 3) return day;
  absl::CivilMonth next = absl::CivilMonth(y, m) + 1;
  return absl::StrFormat("%04d-%02d-01", next.year(), next.month());
}

}  // namespace

absl::StatusOr<std::unique_ptr<SubsidyDesk>> SubsidyDesk::Open(const std::string& path,
                                                               std::function<int64_t()> now) {
  bool fresh = false;
  auto db = OpenDatabase(path, kSchema, "subsidy_outcomes", &fresh);
  if (!db.ok()) return db.status();
  std::unique_ptr<SubsidyDesk> desk(new SubsidyDesk(*db, std::move(now)));
  if (fresh) {
    if (absl::Status s = desk->Seed(); !s.ok()) return s;
  }
  return desk;
}

SubsidyDesk::~SubsidyDesk() { sqlite3_close_v2(db_); }

std::string SubsidyDesk::Today() { return JapanDate(now_()); }

absl::Status SubsidyDesk::Seed() {
  const char* kNoModel =
      "領収書にカードリーダーの型番または製品名の記載がありません。型番の記載された領収書を添付"
      "してください。";
  const char* kPassbook =
      "通帳の写しで口座名義を確認できません。口座名義の記載のある頁を添付してください。";
  struct Outcome {
    const char* office;
    const char* outcome;
    json reasons;
  };
  const Outcome outcomes[] = {{"1371000017", "approve", json::array()},
                              {"1371000025", "return", json::array({kNoModel})},
                              {"1371000033", "approve", json::array()},
                              {"1312345670", "approve", json::array()}};
  for (const auto& o : outcomes) {
    Query(db_, "INSERT INTO subsidy_outcomes VALUES (?1, ?2, ?3)")
        .Bind(1, o.office)
        .Bind(2, o.outcome)
        .Bind(3, o.reasons.dump())
        .Run();
  }
  // あおば (1371000033) filed on the 1st of last month and was returned: it may file again now.
  absl::CivilDay today =
      absl::ToCivilDay(absl::FromUnixSeconds(now_()), absl::FixedTimeZone(9 * 3600));
  absl::CivilMonth last = absl::CivilMonth(today) - 1;
  std::string first = absl::StrFormat("%04d-%02d-01", last.year(), last.month());
  std::string id = "SB-SEED-1371000033";
  Query(db_,
        "INSERT INTO subsidy_applications(id, office, client_reference, submitted_on, status, "
        "body, reasons) VALUES (?1, '1371000033', 'seed', ?2, 'returned', '{}', ?3)")
      .Bind(1, id)
      .Bind(2, first)
      .Bind(3, json::array({kPassbook}).dump())
      .Run();
  int seq = 0;
  for (const char* status : {"submitted", "under_review", "returned"}) {
    Query(db_, "INSERT INTO subsidy_events VALUES (?1, ?2, ?3, ?4, '')")
        .Bind(1, id)
        .Bind(2, static_cast<int64_t>(++seq))
        .Bind(3, status)
        .Bind(4, first)
        .Run();
  }
  return absl::OkStatus();
}

void SubsidyDesk::AddEvent(const std::string& id, const std::string& status,
                           const std::string& note) {
  Query(db_,
        "INSERT INTO subsidy_events SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4 "
        "FROM subsidy_events WHERE application = ?1")
      .Bind(1, id)
      .Bind(2, status)
      .Bind(3, Today())
      .Bind(4, note)
      .Run();
}

json SubsidyDesk::Upload(const Session& session, const std::string& kind,
                         const std::string& file_name, const std::string& content,
                         std::optional<BusinessError>* error) {
  if (kind != "passbook" && kind != "service_type_document" && kind != "receipt") {
    *error = Refuse("INVALID_FIELD", "kind: passbook, service_type_document or receipt",
                    {{"field", "kind"}});
    return nullptr;
  }
  if (content.size() > static_cast<size_t>(kMaxAttachmentBytes)) {
    *error = Refuse("ATTACHMENT_TOO_LARGE", "添付ファイルは20MB以下としてください。");
    return nullptr;
  }
  std::string type = SniffType(content);
  if (type.empty()) {
    *error = Refuse("ATTACHMENT_TYPE", "添付できるファイルはPDF、JPG、PNGのみです。");
    return nullptr;
  }
  std::string id = "AT-" + RandomToken().substr(0, 16);
  std::string sha = Sha256(content);
  std::lock_guard<std::mutex> lock(mu_);
  Query(db_, "INSERT INTO subsidy_uploads VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
      .Bind(1, id)
      .Bind(2, session.office)
      .Bind(3, kind)
      .Bind(4, file_name)
      .Bind(5, type)
      .Bind(6, sha)
      .Bind(7, static_cast<int64_t>(content.size()))
      .BindBlob(8, content)
      .Run();
  return {{"attachment_id", id}, {"sha256", sha}, {"size", content.size()}, {"type", type}};
}

json SubsidyDesk::File(const Session& session, const json& application,
                       std::optional<BusinessError>* error) {
  auto text = [&](const json& o, const char* key) {
    return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
  };
  std::string reference = text(application, "client_reference");
  if (reference.empty()) {
    *error =
        Refuse("INVALID_FIELD", "client_reference is required", {{"field", "client_reference"}});
    return nullptr;
  }
  for (const char* field : {"office_name", "address", "phone"}) {
    if (text(application, field).empty()) {
      *error = Refuse("INVALID_FIELD", std::string(field) + " is required", {{"field", field}});
      return nullptr;
    }
  }
  const json& bank = application.contains("bank") ? application["bank"] : json();
  std::string account = text(bank, "account_number");
  if (account.size() != 7 || account.find_first_not_of("0123456789") != std::string::npos) {
    *error = Refuse("INVALID_FIELD", "口座番号は7桁の半角数字で入力してください。",
                    {{"field", "bank.account_number"}});
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu_);
  {
    Query same(db_,
               "SELECT id, submitted_on, status FROM subsidy_applications "
               "WHERE office = ?1 AND client_reference = ?2");
    same.Bind(1, session.office).Bind(2, reference);
    if (same.Row()) {
      return {{"application_id", same.Text(0)},
              {"submitted_on", same.Text(1)},
              {"status", same.Text(2)}};
    }
  }
  std::string first;
  {
    Query prior(db_,
                "SELECT id, status, submitted_on FROM subsidy_applications WHERE office = ?1 "
                "ORDER BY submitted_on");
    prior.Bind(1, session.office);
    while (prior.Row()) {
      if (first.empty()) first = prior.Text(2);
      if (prior.Text(1) != "returned") {
        *error = Refuse(
            "ALREADY_APPLIED",
            "この事業所番号では既に助成金を申請しています（申請番号 " + prior.Text(0) + "）。",
            {{"application_id", prior.Text(0)}});
        return nullptr;
      }
    }
  }
  std::string today = Today();
  if (!first.empty() && today < FirstOfNextMonth(first)) {
    *error = Refuse("RESUBMISSION_TOO_EARLY", "再申請は初回申請の翌月以降に行ってください。",
                    {{"resubmit_from", FirstOfNextMonth(first)}});
    return nullptr;
  }
  std::set<std::string> kinds;
  const json& attachments =
      application.contains("attachments") ? application["attachments"] : json::array();
  for (const auto& a : attachments.is_array() ? attachments : json::array()) {
    Query upload(db_, "SELECT kind FROM subsidy_uploads WHERE id = ?1 AND office = ?2");
    upload.Bind(1, text(a, "attachment_id")).Bind(2, session.office);
    if (!upload.Row()) {
      *error = Refuse("ATTACHMENT_NOT_FOUND", "attachment " + text(a, "attachment_id") +
                                                  " was not uploaded by this office");
      return nullptr;
    }
    kinds.insert(upload.Text(0));
  }
  for (const char* kind : {"passbook", "service_type_document", "receipt"}) {
    if (!kinds.count(kind)) {
      *error = Refuse("MISSING_ATTACHMENT", std::string("添付書類が不足しています: ") + kind,
                      {{"kind", kind}});
      return nullptr;
    }
  }
  std::string id =
      absl::StrCat("SB-", today.substr(0, 4), today.substr(5, 2), "-", RandomToken().substr(0, 8));
  Query(db_,
        "INSERT INTO subsidy_applications(id, office, client_reference, submitted_on, status, "
        "body) VALUES (?1, ?2, ?3, ?4, 'submitted', ?5)")
      .Bind(1, id)
      .Bind(2, session.office)
      .Bind(3, reference)
      .Bind(4, today)
      .Bind(5, application.dump())
      .Run();
  AddEvent(id, "submitted", "");
  return {{"application_id", id}, {"submitted_on", today}, {"status", "submitted"}};
}

json SubsidyDesk::List(const Session& session) {
  std::lock_guard<std::mutex> lock(mu_);
  Query q(db_,
          "SELECT id, submitted_on, status FROM subsidy_applications WHERE office = ?1 "
          "ORDER BY submitted_on, id");
  q.Bind(1, session.office);
  json list = json::array();
  while (q.Row()) {
    list.push_back(
        {{"application_id", q.Text(0)}, {"submitted_on", q.Text(1)}, {"status", q.Text(2)}});
  }
  return {{"applications", list}};
}

json SubsidyDesk::Get(const Session& session, const std::string& id,
                      std::optional<BusinessError>* error) {
  std::lock_guard<std::mutex> lock(mu_);
  Query q(db_,
          "SELECT submitted_on, status, granted, reasons, paid_on FROM subsidy_applications "
          "WHERE id = ?1 AND office = ?2");
  q.Bind(1, id).Bind(2, session.office);
  if (!q.Row()) {
    *error = Refuse("NOT_FOUND", "no application " + id + " for this office");
    return nullptr;
  }
  json out = {{"application_id", id},
              {"submitted_on", q.Text(0)},
              {"status", q.Text(1)},
              {"granted", q.Int(2)},
              {"reasons", json::parse(q.Text(3), nullptr, false)},
              {"paid_on", q.Text(4).empty() ? json(nullptr) : json(q.Text(4))}};
  if (q.Text(1) == "returned") {
    Query first(db_, "SELECT MIN(submitted_on) FROM subsidy_applications WHERE office = ?1");
    first.Bind(1, session.office);
    if (first.Row()) out["resubmit_from"] = FirstOfNextMonth(first.Text(0));
  }
  json history = json::array();
  Query events(db_,
               "SELECT status, day, note FROM subsidy_events WHERE application = ?1 ORDER BY seq");
  events.Bind(1, id);
  while (events.Row()) {
    history.push_back(
        {{"status", events.Text(0)}, {"on", events.Text(1)}, {"note", events.Text(2)}});
  }
  out["history"] = history;
  return out;
}

absl::Status SubsidyDesk::Advance(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Query q(db_,
          "SELECT a.status, a.body, o.outcome, o.reasons FROM subsidy_applications a "
          "LEFT JOIN subsidy_outcomes o ON o.office = a.office WHERE a.id = ?1");
  q.Bind(1, id);
  if (!q.Row()) return absl::NotFoundError("no subsidy application " + id);
  std::string status = q.Text(0);
  bool approve = q.Text(2) != "return";
  if (status == "submitted") {
    Query(db_, "UPDATE subsidy_applications SET status = 'under_review' WHERE id = ?1")
        .Bind(1, id)
        .Run();
    AddEvent(id, "under_review", "");
  } else if (status == "under_review" && approve) {
    json body = json::parse(q.Text(1), nullptr, false);
    int64_t asked = body.is_object() && body.contains("grant_requested") &&
                            body["grant_requested"].is_number_integer()
                        ? body["grant_requested"].get<int64_t>()
                        : 0;
    int64_t granted = std::min(std::max<int64_t>(asked, 0), kHighestCap);
    Query(db_, "UPDATE subsidy_applications SET status = 'approved', granted = ?2 WHERE id = ?1")
        .Bind(1, id)
        .Bind(2, granted)
        .Run();
    AddEvent(id, "approved", absl::StrCat("交付決定額 ", granted, "円"));
  } else if (status == "under_review") {
    Query(db_, "UPDATE subsidy_applications SET status = 'returned', reasons = ?2 WHERE id = ?1")
        .Bind(1, id)
        .Bind(2, q.Text(3))
        .Run();
    AddEvent(id, "returned", "");
  } else if (status == "approved") {
    Query(db_, "UPDATE subsidy_applications SET status = 'paid', paid_on = ?2 WHERE id = ?1")
        .Bind(1, id)
        .Bind(2, Today())
        .Run();
    AddEvent(id, "paid", "");
  } else {
    return absl::FailedPreconditionError("application " + id + " is " + status +
                                         ": nothing follows");
  }
  return absl::OkStatus();
}

}  // namespace kaigo::sandbox

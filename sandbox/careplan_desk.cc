#include "sandbox/careplan_desk.h"

#include <algorithm>
#include <limits>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sandbox/sqlite_query.h"

namespace kaigo::sandbox {

using nlohmann::json;

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS birth_dates (insurer TEXT NOT NULL, insured TEXT NOT NULL,
  birth_date TEXT NOT NULL, PRIMARY KEY (insurer, insured));
CREATE TABLE IF NOT EXISTS careplan_sends (id TEXT PRIMARY KEY, from_office TEXT NOT NULL,
  from_type TEXT NOT NULL,  -- '' when no file name is of the 4.x form
  to_office TEXT NOT NULL, to_type TEXT NOT NULL, unit TEXT NOT NULL, sent_at INTEGER NOT NULL,
  client_reference TEXT NOT NULL, acknowledged_at INTEGER,
  UNIQUE (from_office, client_reference));
CREATE INDEX IF NOT EXISTS careplan_sends_to ON careplan_sends(to_office, unit);
CREATE TABLE IF NOT EXISTS careplan_files (send_id TEXT NOT NULL, seq INTEGER NOT NULL,
  name TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, content BLOB NOT NULL,
  PRIMARY KEY (send_id, seq), UNIQUE (send_id, name));
CREATE TABLE IF NOT EXISTS careplan_requests (id TEXT PRIMARY KEY, office TEXT NOT NULL,
  client_reference TEXT NOT NULL, insurer TEXT NOT NULL, insured TEXT NOT NULL,
  request_kind TEXT NOT NULL, planning_office TEXT NOT NULL, care_manager_name TEXT NOT NULL,
  identity TEXT NOT NULL,  -- JSON, without the card's signature
  accepted_on TEXT NOT NULL, status TEXT NOT NULL, UNIQUE (office, client_reference));
)sql";

constexpr char kCsvType[] = "text/csv; charset=Shift_JIS";
constexpr char kJpegType[] = "image/jpeg";

BusinessError Refuse(std::string code, std::string message, json extra = json::object()) {
  return BusinessError{std::move(code), std::move(message), std::move(extra)};
}

BusinessError InvalidField(const std::string& field, const std::string& message) {
  return Refuse("INVALID_FIELD", field + ": " + message, {{"field", field}});
}

std::string Text(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
}

bool Digits(absl::string_view s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), absl::ascii_isdigit);
}

// サービス種類コード: two characters of [0-9A-Z] (e.g. 11, 43, A5).
bool ServiceType(absl::string_view s) {
  return s.size() == 2 && std::all_of(s.begin(), s.end(), [](char c) {
           return absl::ascii_isdigit(c) || absl::ascii_isupper(c);
         });
}

// 被保険者番号: ten digits, or H and nine digits.
bool InsuredNumber(absl::string_view s) {
  return Digits(s, 10) || (s.size() == 10 && s[0] == 'H' && Digits(s.substr(1), 9));
}

bool Date(const std::string& s) {
  absl::CivilDay day;
  return s.size() == 10 && absl::ParseCivilTime(s, &day) && absl::FormatCivilTime(day) == s;
}

// What a care-plan file's name says (careplan-csv-4.1.md §4).
struct FileName {
  std::string from_office;
  std::string from_type;  // empty in the older form
  std::string to_office;
  std::string to_type;  // empty in the older form
  std::string unit;     // ファイル連番 (14 digits)
  bool image = false;
};

// The segments after the prefix (and its 対象年月 when it has one): 4.x form
// <from>_<from type>_<to>_<to type>_<連番>, or the older <from>_<to>_<連番>.
std::optional<FileName> ParseSegments(std::vector<absl::string_view> parts, bool has_month) {
  if (has_month) {
    if (parts.empty() || !Digits(parts[0], 6)) return std::nullopt;
    parts.erase(parts.begin());
  }
  FileName out;
  if (parts.size() == 5 && Digits(parts[0], 10) && ServiceType(parts[1]) && Digits(parts[2], 10) &&
      ServiceType(parts[3]) && Digits(parts[4], 14)) {
    out = {std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
           std::string(parts[3]), std::string(parts[4])};
  } else if (parts.size() == 3 && Digits(parts[0], 10) && Digits(parts[1], 10) &&
             Digits(parts[2], 14)) {
    out = {std::string(parts[0]), "", std::string(parts[1]), "", std::string(parts[2])};
  } else {
    return std::nullopt;
  }
  return out;
}

// The parts of a name of the standard's shape; nullopt for any other name.
std::optional<FileName> ParseFileName(absl::string_view name) {
  struct Prefix {
    const char* name;
    bool has_month;  // the _<YYYYMM> segment follows the prefix
  };
  static constexpr Prefix kPrefixes[] = {
      {"UPHOSOKU", true},      {"UP1KYO", false}, {"DLT1KYO", false},    {"UP2KYO", false},
      {"UP3KYO", false},       {"UPPLAN", true},  {"DLTPLAN", true},     {"UPJSK", true},
      {"DLTJSK", true},        {"UPSIKYU", true}, {"UPKIHON", false},    {"UPKIHON_SUB1", false},
      {"UPKIHON_SUB2", false}, {"UPYOBO", false}, {"UPYOBO_SUB", false}, {"DLTKIHON", false},
      {"DLTYOBO", false}};
  constexpr absl::string_view kImage = "UPKIHON_IMAGE_";
  if (name.size() > 4 && absl::EndsWithIgnoreCase(name, ".jpg")) {
    // 家族構成 image: UPKIHON_IMAGE_<segments>_<NNNN>.jpg
    absl::string_view stem = name.substr(0, name.size() - 4);
    if (!absl::StartsWith(stem, kImage)) return std::nullopt;
    std::vector<absl::string_view> parts = absl::StrSplit(stem.substr(kImage.size()), '_');
    if (parts.empty() || !Digits(parts.back(), 4)) return std::nullopt;
    parts.pop_back();
    auto parsed = ParseSegments(parts, false);
    if (parsed) parsed->image = true;
    return parsed;
  }
  if (name.size() <= 4 || !absl::EndsWithIgnoreCase(name, ".CSV")) return std::nullopt;
  absl::string_view stem = name.substr(0, name.size() - 4);
  // Prefixes overlap (UPKIHON, UPKIHON_SUB1): try each; at most one leaves valid segments.
  for (const Prefix& prefix : kPrefixes) {
    std::string head = absl::StrCat(prefix.name, "_");
    if (!absl::StartsWith(stem, head)) continue;
    auto parsed = ParseSegments(absl::StrSplit(stem.substr(head.size()), '_'), prefix.has_month);
    if (parsed) return parsed;
  }
  return std::nullopt;
}

// [*from, *to) in Unix seconds: the month "YYYYMM" in Japan. False unless `month` is one.
bool MonthRange(const std::string& month, int64_t* from, int64_t* to) {
  int year = 0, number = 0;
  if (!Digits(month, 6) || !absl::SimpleAtoi(month.substr(0, 4), &year) ||
      !absl::SimpleAtoi(month.substr(4), &number) || number < 1 || number > 12) {
    return false;
  }
  absl::TimeZone japan = absl::FixedTimeZone(9 * 3600);
  absl::CivilMonth start(year, number);
  *from = absl::ToUnixSeconds(absl::FromCivil(start, japan));
  *to = absl::ToUnixSeconds(absl::FromCivil(start + 1, japan));
  return true;
}

json TimeOrNull(Query& q, int column) {
  return q.IsNull(column) ? json(nullptr) : json(q.Int(column));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CareplanDesk>> CareplanDesk::Open(const std::string& path,
                                                                 PlatformModel* platform,
                                                                 CardVerifier* cards,
                                                                 std::function<int64_t()> now) {
  bool fresh = false;
  auto db = OpenDatabase(path, kSchema, "birth_dates", &fresh);
  if (!db.ok()) return db.status();
  std::unique_ptr<CareplanDesk> desk(new CareplanDesk(*db, platform, cards, std::move(now)));
  if (fresh) {
    if (absl::Status s = desk->Seed(); !s.ok()) return s;
  }
  return desk;
}

CareplanDesk::~CareplanDesk() { sqlite3_close_v2(db_); }

absl::Status CareplanDesk::Seed() {
  // The platform model holds no birth dates; recipient #i (seed order) was born on 1940-01-01
  // plus 37·i days (see sandbox/README.md).
  sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
  int i = 0;
  for (const auto& [insurer, insured] : platform_->Recipients()) {
    absl::CivilDay born = absl::CivilDay(1940, 1, 1) + 37 * ++i;
    Query(db_, "INSERT INTO birth_dates VALUES (?1, ?2, ?3)")
        .Bind(1, insurer)
        .Bind(2, insured)
        .Bind(3, absl::FormatCivilTime(born))
        .Run();
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return absl::UnavailableError(std::string("seed: ") + sqlite3_errmsg(db_));
  }
  return absl::OkStatus();
}

json CareplanDesk::FilesOf(const std::string& id) {
  Query q(db_, "SELECT name, sha256, size FROM careplan_files WHERE send_id = ?1 ORDER BY seq");
  q.Bind(1, id);
  json files = json::array();
  while (q.Row()) files.push_back({{"name", q.Text(0)}, {"sha256", q.Text(1)}, {"size", q.Int(2)}});
  return files;
}

json CareplanDesk::SendAnswer(const std::string& id) {
  Query q(db_, "SELECT sent_at, unit FROM careplan_sends WHERE id = ?1");
  q.Bind(1, id);
  if (!q.Row()) return nullptr;
  return {{"send_id", id}, {"sent_at", q.Int(0)}, {"unit", q.Text(1)}, {"files", FilesOf(id)}};
}

// A send as its request carries it: the destination and the files, decoded.
struct CareplanDesk::IncomingSend {
  struct File {
    std::string name;
    std::string bytes;
    FileName parts;  // set by MatchFileNames
  };
  std::string reference;  // client_reference
  std::string to_office;
  std::string to_type;
  std::vector<File> files;
  std::string from_type;  // the sender's service type, from the first file's name
  std::string unit;       // the ファイル連番 all the files share
};

std::optional<CareplanDesk::IncomingSend> CareplanDesk::ReadSend(
    const json& request, std::optional<BusinessError>* error) {
  IncomingSend send;
  send.reference = Text(request, "client_reference");
  send.to_office = Text(request, "to_office");
  send.to_type = Text(request, "to_service_type");
  if (!Digits(send.to_office, 10)) {
    *error = InvalidField("to_office", "a 事業所番号 of 10 digits");
    return std::nullopt;
  }
  if (!ServiceType(send.to_type)) {
    *error = InvalidField("to_service_type", "a サービス種類コード of 2 characters [0-9A-Z]");
    return std::nullopt;
  }
  const json& listed = request.contains("files") ? request["files"] : json();
  if (!listed.is_array() || listed.empty()) {
    *error = InvalidField("files", "at least one file");
    return std::nullopt;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < listed.size(); ++i) {
    std::string field = absl::StrCat("files[", i, "]");
    IncomingSend::File file{Text(listed[i], "name"), "", {}};
    if (file.name.empty() || !names.insert(file.name).second) {
      *error = InvalidField(field + ".name", "required, once per send");
      return std::nullopt;
    }
    if (!absl::Base64Unescape(Text(listed[i], "content"), &file.bytes)) {
      *error = InvalidField(field + ".content", "the file's bytes in base64");
      return std::nullopt;
    }
    if (file.bytes.size() > static_cast<size_t>(kMaxFileBytes)) {
      *error = InvalidField(field + ".content", "a file is at most 20 MiB");
      return std::nullopt;
    }
    send.files.push_back(std::move(file));
  }
  return send;
}

bool CareplanDesk::MatchFileNames(const Session& session, IncomingSend* send,
                                  std::optional<BusinessError>* error) {
  const std::string& to_office = send->to_office;
  const std::string& to_type = send->to_type;
  std::string& from_type = send->from_type;
  for (IncomingSend::File& file : send->files) {
    auto parts = ParseFileName(file.name);
    if (!parts) {
      *error = Refuse("FILE_NAME",
                      file.name +
                          " is not a file name of ケアプランデータ連携標準仕様 "
                          "(<PREFIX>[_<YYYYMM>]_<from>_<type>_<to>_<type>_<連番>.CSV)",
                      {{"file", file.name}});
      return false;
    }
    std::string why;
    if (parts->from_office != session.office) {
      why = "its from-office " + parts->from_office + " is not the sender " + session.office;
    } else if (parts->to_office != to_office) {
      why = "its to-office " + parts->to_office + " is not the destination " + to_office;
    } else if (!parts->to_type.empty() && parts->to_type != to_type) {
      why = "its to-service-type " + parts->to_type + " is not " + to_type;
    }
    if (!why.empty()) {
      *error = Refuse("NAME_MISMATCH", file.name + ": " + why, {{"file", file.name}});
      return false;
    }
    if (from_type.empty()) from_type = parts->from_type;
    file.parts = *std::move(parts);
  }
  send->unit = send->files[0].parts.unit;
  std::set<std::string> units;
  for (const IncomingSend::File& file : send->files) units.insert(file.parts.unit);
  if (units.size() > 1) {
    *error = Refuse("UNIT_MISMATCH",
                    "the files of one send share one ファイル連番 (one send = one send unit)",
                    {{"units", json(std::vector<std::string>(units.begin(), units.end()))}});
    return false;
  }
  return true;
}

bool CareplanDesk::UnitInOrder(const Session& session, const IncomingSend& send,
                               std::optional<BusinessError>* error) {
  const std::string& unit = send.unit;
  const std::string& to_office = send.to_office;
  Query highest(db_,
                "SELECT MAX(unit) FROM careplan_sends WHERE from_office = ?1 AND to_office = ?2");
  highest.Bind(1, session.office).Bind(2, to_office);
  // Fourteen digits each: text order is numeric order.
  if (highest.Row() && !highest.IsNull(0) && unit <= highest.Text(0)) {
    *error = Refuse("UNIT_ORDER",
                    "ファイル連番 " + unit + " is not above " + highest.Text(0) +
                        ", already sent to " + to_office +
                        ": receivers process units in 連番 "
                        "order and a send unit is never reused",
                    {{"unit", unit}, {"highest_sent", highest.Text(0)}});
    return false;
  }
  return true;
}

absl::StatusOr<std::string> CareplanDesk::StoreSend(const Session& session,
                                                    const IncomingSend& send) {
  const std::string& to_office = send.to_office;
  const std::string& unit = send.unit;
  std::string id = "CP-" + RandomToken().substr(0, 16);
  sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
  bool stored =
      Query(db_, "INSERT INTO careplan_sends VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)")
          .Bind(1, id)
          .Bind(2, session.office)
          .Bind(3, send.from_type)
          .Bind(4, to_office)
          .Bind(5, send.to_type)
          .Bind(6, unit)
          .Bind(7, now_())
          .Bind(8, send.reference)
          .Run();
  int64_t seq = 0;
  for (const IncomingSend::File& file : send.files) {
    stored = stored && Query(db_, "INSERT INTO careplan_files VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                           .Bind(1, id)
                           .Bind(2, ++seq)
                           .Bind(3, file.name)
                           .Bind(4, Sha256(file.bytes))
                           .Bind(5, static_cast<int64_t>(file.bytes.size()))
                           .BindBlob(6, file.bytes)
                           .Run();
  }
  if (!stored || sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string why = sqlite3_errmsg(db_);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return absl::InternalError("storing the send: " + why);
  }
  return id;
}

absl::StatusOr<json> CareplanDesk::Send(const Session& session, const json& request,
                                        std::optional<BusinessError>* error) {
  std::string reference = Text(request, "client_reference");
  if (reference.empty()) {
    *error = InvalidField("client_reference", "required");
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu_);
  {
    Query same(db_,
               "SELECT id FROM careplan_sends WHERE from_office = ?1 AND client_reference = ?2");
    same.Bind(1, session.office).Bind(2, reference);
    if (same.Row()) return SendAnswer(same.Text(0));
  }
  std::optional<IncomingSend> send = ReadSend(request, error);
  if (!send) return nullptr;
  const std::string& to_office = send->to_office;
  if (to_office == session.office) {
    *error = Refuse("SAME_OFFICE", "an office cannot send to its own 事業所番号 " + to_office);
    return nullptr;
  }
  if (!platform_->OfficeKind(to_office)) {
    *error =
        Refuse("OFFICE_UNKNOWN", "事業所番号 " + to_office + " is not an office of the platform",
               {{"to_office", to_office}});
    return nullptr;
  }
  if (!MatchFileNames(session, &*send, error) || !UnitInOrder(session, *send, error)) {
    return nullptr;
  }
  absl::StatusOr<std::string> id = StoreSend(session, *send);
  if (!id.ok()) return id.status();
  return SendAnswer(*id);
}

json CareplanDesk::ListSends(const char* office_column, const std::string& office,
                             const std::string& month, const char* order,
                             std::optional<BusinessError>* error) {
  int64_t from = 0, to = std::numeric_limits<int64_t>::max();
  if (!month.empty() && !MonthRange(month, &from, &to)) {
    *error = InvalidField("month", "YYYYMM");
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu_);
  Query q(db_,
          absl::StrCat("SELECT id, from_office, from_type, to_office, to_type, unit, sent_at, "
                       "acknowledged_at FROM careplan_sends WHERE ",
                       office_column, " = ?1 AND sent_at >= ?2 AND sent_at < ?3 ORDER BY ", order)
              .c_str());
  q.Bind(1, office).Bind(2, from).Bind(3, to);
  json list = json::array();
  while (q.Row()) {
    list.push_back({{"send_id", q.Text(0)},
                    {"from_office", q.Text(1)},
                    {"from_service_type", q.Text(2).empty() ? json(nullptr) : json(q.Text(2))},
                    {"to_office", q.Text(3)},
                    {"to_service_type", q.Text(4)},
                    {"unit", q.Text(5)},
                    {"sent_at", q.Int(6)},
                    {"files", FilesOf(q.Text(0))},
                    {"acknowledged_at", TimeOrNull(q, 7)}});
  }
  return list;
}

json CareplanDesk::Sent(const Session& session, const std::string& month,
                        std::optional<BusinessError>* error) {
  json list = ListSends("from_office", session.office, month, "sent_at, rowid", error);
  if (*error) return nullptr;
  for (json& send : list) {
    send.erase("from_office");
    send.erase("from_service_type");
  }
  return {{"sends", list}};
}

json CareplanDesk::Received(const Session& session, const std::string& month,
                            std::optional<BusinessError>* error) {
  json list = ListSends("to_office", session.office, month, "unit, sent_at, rowid", error);
  if (*error) return nullptr;
  for (json& send : list) {
    send.erase("to_office");
    send.erase("to_service_type");
  }
  return {{"received", list}};
}

absl::StatusOr<CareplanDesk::File> CareplanDesk::ReceivedFile(const Session& session,
                                                              const std::string& send_id,
                                                              const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Query q(db_,
          "SELECT f.content FROM careplan_files f JOIN careplan_sends s ON s.id = f.send_id "
          "WHERE s.id = ?1 AND s.to_office = ?2 AND f.name = ?3");
  q.Bind(1, send_id).Bind(2, session.office).Bind(3, name);
  // One answer for "no such send", "not yours" and "no such file": other offices' sends stay
  // unseen.
  if (!q.Row()) return absl::NotFoundError("no file " + name + " in a send " + send_id + " to you");
  auto parts = ParseFileName(name);
  return File{parts && parts->image ? kJpegType : kCsvType, q.Blob(0)};
}

json CareplanDesk::Acknowledge(const Session& session, const std::string& send_id,
                               std::optional<BusinessError>* error) {
  std::lock_guard<std::mutex> lock(mu_);
  Query(db_,
        "UPDATE careplan_sends SET acknowledged_at = ?3 "
        "WHERE id = ?1 AND to_office = ?2 AND acknowledged_at IS NULL")
      .Bind(1, send_id)
      .Bind(2, session.office)
      .Bind(3, now_())
      .Run();
  Query q(db_, "SELECT acknowledged_at FROM careplan_sends WHERE id = ?1 AND to_office = ?2");
  q.Bind(1, send_id).Bind(2, session.office);
  if (!q.Row()) {
    *error = Refuse("NOT_FOUND", "no send " + send_id + " to this office");
    return nullptr;
  }
  return {{"send_id", send_id}, {"acknowledged_at", q.Int(0)}};
}

std::optional<json> CareplanDesk::CheckIdentity(const Session& session, const json& identity,
                                                const std::string& insurer,
                                                const std::string& insured,
                                                std::optional<BusinessError>* error) {
  std::string method = Text(identity, "method");
  if (method == "card") {
    std::string challenge, certificate, signature;
    for (auto [key, out] :
         {std::make_pair("challenge", &challenge), std::make_pair("certificate", &certificate),
          std::make_pair("signature", &signature)}) {
      if (!absl::Base64Unescape(Text(identity, key), out) || out->empty()) {
        *error = InvalidField(std::string("identity.") + key, "required, in base64");
        return std::nullopt;
      }
    }
    auto holder = cards_->Verify(session.office, challenge, certificate, signature, error);
    if (!holder) return std::nullopt;
    if (holder->insurer != insurer || holder->insured != insured) {
      *error = Refuse("IDENTITY_MISMATCH",
                      "the card belongs to another recipient than " + insurer + "/" + insured);
      return std::nullopt;
    }
    return json{{"method", "card"}, {"card_certificate_cn", holder->certificate_cn}};
  }
  if (method == "numbers") {
    std::string birth_date = Text(identity, "birth_date");
    if (!Date(birth_date)) {
      *error = InvalidField("identity.birth_date", "YYYY-MM-DD");
      return std::nullopt;
    }
    const json& documents =
        identity.contains("documents_checked") ? identity["documents_checked"] : json();
    bool listed = documents.is_array() && !documents.empty();
    for (const json& d : listed ? documents : json::array()) {
      listed = listed && d.is_string() && !d.get<std::string>().empty();
    }
    if (!listed) {
      *error = InvalidField("identity.documents_checked",
                            "the identity documents the care manager checked, e.g. "
                            "介護保険被保険者証");
      return std::nullopt;
    }
    Query born(db_, "SELECT birth_date FROM birth_dates WHERE insurer = ?1 AND insured = ?2");
    born.Bind(1, insurer).Bind(2, insured);
    if (!born.Row() || born.Text(0) != birth_date) {
      *error = Refuse("IDENTITY_MISMATCH",
                      "the birth date does not match the recipient " + insurer + "/" + insured);
      return std::nullopt;
    }
    return json{
        {"method", "numbers"}, {"birth_date", birth_date}, {"documents_checked", documents}};
  }
  *error = InvalidField("identity.method", "card or numbers");
  return std::nullopt;
}

json CareplanDesk::RequestAnswer(const std::string& id, bool full) {
  Query q(db_,
          "SELECT accepted_on, status, identity, client_reference, insurer, insured, "
          "request_kind, planning_office, care_manager_name FROM careplan_requests WHERE id = ?1");
  q.Bind(1, id);
  if (!q.Row()) return nullptr;
  json identity = json::parse(q.Text(2), nullptr, false);
  json out = {{"notification_id", id},
              {"accepted_on", q.Text(0)},
              {"status", q.Text(1)},
              {"identity_method", identity.value("method", "")}};
  if (full) {
    out.update({{"client_reference", q.Text(3)},
                {"insurer_number", q.Text(4)},
                {"insured_number", q.Text(5)},
                {"request_kind", q.Text(6)},
                {"planning_office", q.Text(7)},
                {"care_manager_name", q.Text(8)},
                {"identity", identity}});
  }
  return out;
}

absl::StatusOr<json> CareplanDesk::FileRequest(const Session& session, const json& request,
                                               std::optional<BusinessError>* error) {
  std::string reference = Text(request, "client_reference");
  if (reference.empty()) {
    *error = InvalidField("client_reference", "required");
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu_);
  {
    Query same(db_, "SELECT id FROM careplan_requests WHERE office = ?1 AND client_reference = ?2");
    same.Bind(1, session.office).Bind(2, reference);
    if (same.Row()) return RequestAnswer(same.Text(0), false);
  }
  if (platform_->OfficeKind(session.office) != "care_manager") {
    *error = Refuse("NOT_CARE_MANAGER",
                    "居宅サービス計画作成依頼届出 is filed on the recipient's behalf only by a "
                    "居宅介護支援事業所");
    return nullptr;
  }
  std::string insurer = Text(request, "insurer_number");
  std::string insured = Text(request, "insured_number");
  std::string kind = Text(request, "request_kind");
  std::string planning = Text(request, "planning_office");
  std::string care_manager = Text(request, "care_manager_name");
  const json& identity = request.contains("identity") ? request["identity"] : json();
  if (!Digits(insurer, 6)) {
    *error = InvalidField("insurer_number", "a 保険者番号 of 6 digits");
  } else if (!InsuredNumber(insured)) {
    *error = InvalidField("insured_number", "a 被保険者番号 of 10 digits, or H and 9 digits");
  } else if (kind != "new" && kind != "change") {
    *error = InvalidField("request_kind", "new or change");
  } else if (planning != session.office) {
    *error = InvalidField("planning_office",
                          "the filing 居宅介護支援事業所 itself (" + session.office + ")");
  } else if (care_manager.empty()) {
    *error = InvalidField("care_manager_name", "required");
  } else if (!identity.is_object()) {
    *error = InvalidField("identity", "an object: method card or numbers");
  }
  if (*error) return nullptr;
  if ((*error = platform_->CheckRecipient(insurer, insured))) return nullptr;
  auto checked = CheckIdentity(session, identity, insurer, insured, error);
  if (!checked) return nullptr;
  std::string today = JapanDate(now_());
  std::string id =
      absl::StrCat("CR-", today.substr(0, 4), today.substr(5, 2), "-", RandomToken().substr(0, 8));
  bool stored =
      Query(db_,
            "INSERT INTO careplan_requests VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
            "'accepted')")
          .Bind(1, id)
          .Bind(2, session.office)
          .Bind(3, reference)
          .Bind(4, insurer)
          .Bind(5, insured)
          .Bind(6, kind)
          .Bind(7, planning)
          .Bind(8, care_manager)
          .Bind(9, checked->dump())
          .Bind(10, today)
          .Run();
  if (!stored)
    return absl::InternalError(std::string("storing the notification: ") + sqlite3_errmsg(db_));
  if (absl::Status s = platform_->SetCareManagerOffice(insurer, insured, planning); !s.ok()) {
    return s;
  }
  return RequestAnswer(id, false);
}

json CareplanDesk::GetRequest(const Session& session, const std::string& id,
                              std::optional<BusinessError>* error) {
  std::lock_guard<std::mutex> lock(mu_);
  Query mine(db_, "SELECT 1 FROM careplan_requests WHERE id = ?1 AND office = ?2");
  mine.Bind(1, id).Bind(2, session.office);
  if (!mine.Row()) {
    *error = Refuse("NOT_FOUND", "no notification " + id + " filed by this office");
    return nullptr;
  }
  return RequestAnswer(id, true);
}

}  // namespace kaigo::sandbox

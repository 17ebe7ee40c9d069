#include "sandbox/platform_model.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "sandbox/sqlite_query.h"

namespace kaigo::sandbox {

using nlohmann::json;

namespace {

constexpr int64_t kAccessSeconds = 60 * 60;
constexpr int64_t kRefreshSeconds = 8 * 60 * 60;
constexpr int kMaxFailures = 5;
constexpr int64_t kLockSeconds = 30 * 60;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS offices (number TEXT PRIMARY KEY, name TEXT NOT NULL,
  kind TEXT NOT NULL);  -- care_manager (居宅介護支援) | service | medical
CREATE TABLE IF NOT EXISTS users (user_id TEXT PRIMARY KEY, office TEXT NOT NULL,
  salt TEXT NOT NULL, password_sha256 TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0,
  job_type TEXT NOT NULL);  -- 職種: care_manager, care_staff, doctor …
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, kind TEXT NOT NULL, office TEXT NOT NULL,
  user_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS municipalities (insurer TEXT PRIMARY KEY, name TEXT NOT NULL,
  live_from TEXT);  -- NULL: not scheduled
CREATE TABLE IF NOT EXISTS recipients (id INTEGER PRIMARY KEY, insurer TEXT NOT NULL,
  insured TEXT NOT NULL, care_level TEXT NOT NULL, certified_on TEXT, valid_from TEXT,
  valid_to TEXT, monthly_limit_units INTEGER NOT NULL, superseded INTEGER NOT NULL,
  copay_percent INTEGER NOT NULL, copay_from TEXT, copay_to TEXT, cost_limit_stage TEXT NOT NULL,
  cost_limit_from TEXT, cost_limit_to TEXT, home_modification_used INTEGER NOT NULL,
  equipment_used INTEGER NOT NULL, equipment_fiscal_year INTEGER NOT NULL,
  care_manager_office TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS recipients_key ON recipients(insurer, insured);
CREATE TABLE IF NOT EXISTS certifications (insurer TEXT NOT NULL, insured TEXT NOT NULL,
  status TEXT NOT NULL, applied_on TEXT NOT NULL, updated_on TEXT NOT NULL, result TEXT,
  PRIMARY KEY (insurer, insured));
CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, insurer TEXT NOT NULL,
  insured TEXT NOT NULL, kind TEXT NOT NULL, content BLOB NOT NULL);
)sql";

json DateOrNull(const std::string& date) { return date.empty() ? json(nullptr) : json(date); }

// 区分支給限度基準額 (units per month, since October 2019) by 要介護状態区分 code.
int MonthlyLimitUnits(const std::string& level) {
  if (level == "06" || level == "12") return 5032;
  if (level == "13") return 10531;
  if (level == "21") return 16765;
  if (level == "22") return 19705;
  if (level == "23") return 27048;
  if (level == "24") return 30938;
  if (level == "25") return 36217;
  return 0;
}

}  // namespace

std::string MakePdf(const std::string& title, const std::vector<std::string>& lines) {
  std::string text = "BT /F1 16 Tf 50 780 Td (" + title + ") Tj /F1 11 Tf";
  for (const auto& line : lines) text += " 0 -22 Td (" + line + ") Tj";
  text += " ET";
  std::vector<std::string> objects = {
      "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
      "/Resources << /Font << /F1 5 0 R >> >> >>",
      absl::StrCat("<< /Length ", text.size(), " >>\nstream\n", text, "\nendstream"),
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"};
  std::string pdf = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    absl::StrAppend(&pdf, i + 1, " 0 obj\n", objects[i], "\nendobj\n");
  }
  size_t xref = pdf.size();
  absl::StrAppend(&pdf, "xref\n0 ", objects.size() + 1, "\n0000000000 65535 f \n");
  for (size_t o : offsets) pdf += absl::StrFormat("%010d 00000 n \n", o);
  absl::StrAppend(&pdf, "trailer\n<< /Size ", objects.size() + 1, " /Root 1 0 R >>\nstartxref\n",
                  xref, "\n%%EOF\n");
  return pdf;
}

absl::StatusOr<std::unique_ptr<PlatformModel>> PlatformModel::Open(const std::string& path,
                                                                   std::function<int64_t()> now) {
  bool fresh = false;
  auto db = OpenDatabase(path, kSchema, "offices", &fresh);
  if (!db.ok()) return db.status();
  std::unique_ptr<PlatformModel> model(new PlatformModel(*db, std::move(now)));
  // A directory seeded before users had job types: its users keep what they could see (the
  // office rule alone), as care managers.
  if (!Query(*db, "SELECT job_type FROM users LIMIT 1").Prepared()) {
    sqlite3_exec(*db, "ALTER TABLE users ADD COLUMN job_type TEXT NOT NULL DEFAULT 'care_manager'",
                 nullptr, nullptr, nullptr);
  }
  if (fresh) {
    if (absl::Status s = model->Seed(); !s.ok()) return s;
  }
  return model;
}

PlatformModel::~PlatformModel() { sqlite3_close_v2(db_); }

std::string PlatformModel::Today() { return JapanDate(now_()); }

namespace {

std::string DayOf(absl::CivilMonth m, int day) { return IsoDate(absl::CivilDay(m) + (day - 1)); }

}  // namespace

// Everything dated is relative to the day of seeding (the sandbox's clock), so that the tests and
// the demo meet the same situations on any date: see sandbox/README.md.
struct PlatformModel::SeedDates {
  explicit SeedDates(absl::CivilDay today)
      : month(today),
        fiscal_year(today.month() >= 4 ? today.year() : today.year() - 1),  // April–March
        copay_year(today.month() >= 8 ? today.year() : today.year() - 1),   // August–July
        copay_from(IsoDate(absl::CivilDay(copay_year, 8, 1))),
        copay_to(IsoDate(absl::CivilDay(copay_year + 1, 7, 31))) {}
  absl::CivilMonth month;
  int fiscal_year;
  int copay_year;
  std::string copay_from;
  std::string copay_to;
};

absl::Status PlatformModel::Seed() {
  sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
  const SeedDates dates(JapanDay(absl::FromUnixSeconds(now_())));
  SeedOffices();
  SeedUsers();
  SeedMunicipalities(dates);
  // 50 recipients, each field cycling through its cases (see sandbox/README.md).
  for (int i = 1; i <= 50; ++i) SeedRecipient(i, dates);
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return absl::UnavailableError(std::string("seed: ") + sqlite3_errmsg(db_));
  }
  return absl::OkStatus();
}

void PlatformModel::SeedOffices() {
  struct Office {
    const char* number;
    const char* name;
    const char* kind;
  };
  const Office offices[] = {
      {"1371000017", "さくら居宅介護支援事業所", "care_manager"},
      {"1371000025", "ひまわり訪問介護", "service"},
      {"1371000033", "あおば居宅介護支援事業所", "care_manager"},
      {"1312345670", "みどりクリニック", "medical"},
  };
  for (const auto& o : offices) {
    Query(db_, "INSERT INTO offices VALUES (?1, ?2, ?3)")
        .Bind(1, o.number)
        .Bind(2, o.name)
        .Bind(3, o.kind)
        .Run();
  }
}

void PlatformModel::SeedUsers() {
  // Web-service users and their job types (職種), on which 別紙4 makes what a user sees depend.
  struct User {
    const char* user_id;
    const char* office;
    const char* job_type;
    const char* password;
  };
  const User users[] = {
      {"sakura-cm", "1371000017", "care_manager", "Sakura#2026"},
      {"sakura-staff", "1371000017", "care_staff", "SakuraStaff#2026"},
      {"himawari-staff", "1371000025", "care_staff", "Himawari#2026"},
      {"aoba-cm", "1371000033", "care_manager", "Aoba#2026"},
      {"midori-dr", "1312345670", "doctor", "Midori#2026"},
  };
  for (const auto& u : users) {
    std::string salt = Sha256(std::string("salt:") + u.user_id).substr(0, 16);
    Query(db_,
          "INSERT INTO users(user_id, office, salt, password_sha256, job_type) "
          "VALUES (?1,?2,?3,?4,?5)")
        .Bind(1, u.user_id)
        .Bind(2, u.office)
        .Bind(3, salt)
        .Bind(4, Sha256(salt + u.password))
        .Bind(5, u.job_type)
        .Run();
  }
}

void PlatformModel::SeedMunicipalities(const SeedDates& dates) {
  struct Municipality {
    const char* insurer;
    const char* name;
    const char* live_from;  // nullptr: not scheduled
  };
  const absl::CivilMonth month = dates.month;
  const int fiscal_year = dates.fiscal_year;
  const std::string live_since_last_year = IsoDate(absl::CivilDay(fiscal_year - 1, 4, 1));
  const std::string live_since_months = DayOf(month - 5, 1);
  const std::string live_in_two_years = IsoDate(absl::CivilDay(fiscal_year + 2, 4, 1));
  const Municipality municipalities[] = {{"131011", "千代田区", live_since_last_year.c_str()},
                                         {"122069", "木更津市", live_since_months.c_str()},
                                         {"122192", "市原市", live_in_two_years.c_str()},
                                         {"435073", "水上村", nullptr}};
  for (const auto& m : municipalities) {
    Query q(db_, "INSERT INTO municipalities VALUES (?1, ?2, ?3)");
    q.Bind(1, m.insurer).Bind(2, m.name);
    if (m.live_from != nullptr) q.Bind(3, m.live_from);
    q.Run();
  }
}

void PlatformModel::SeedRecipient(int i, const SeedDates& dates) {
  const absl::CivilMonth month = dates.month;
  static const char* const levels[] = {"06", "12", "13", "21", "22", "23", "24", "25", "applying"};
  static const char* const stages[] = {"none", "1", "2", "3A", "3B", "4"};
  static const int copays[] = {10, 10, 20, 30};
  static const int home[] = {0, 50000, 180000, 200000, 120000};
  static const int equipment[] = {0, 20000, 95000, 100000};
  static const char* const certification_steps[] = {"applied", "surveyed", "opinion_received",
                                                    "under_review"};
  std::string insurer = i <= 40   ? "131011"
                        : i <= 45 ? "122069"
                        : i <= 48 ? "122192"
                        : i == 49 ? "435073"
                                  : "131011";
  std::string insured = i == 50 ? "H123456789" : absl::StrFormat("00001%05d", i);
  std::string level = i == 45 ? "01" : levels[(i - 1) % 9];
  bool applying = level == "applying";
  // Certified on the 10th, 10 to 2 months ago, for a year; #7 and #17 two years earlier
  // (expired).
  absl::CivilMonth certified_in = month - 10 + i % 9;
  if (i == 7 || i == 17) certified_in -= 24;
  std::string certified = applying ? "" : DayOf(certified_in, 10);
  std::string from = certified;
  std::string to = applying ? "" : DayOf(certified_in + 12, 9);
  std::string care_manager = i % 10 == 3 ? "1371000033" : "1371000017";
  int rows = i == 19 ? 2 : 1;  // the platform holds two records for this recipient
  for (int r = 0; r < rows; ++r) {
    Query(db_,
          "INSERT INTO recipients(insurer, insured, care_level, certified_on, valid_from, "
          "valid_to, monthly_limit_units, superseded, copay_percent, copay_from, copay_to, "
          "cost_limit_stage, cost_limit_from, cost_limit_to, home_modification_used, "
          "equipment_used, equipment_fiscal_year, care_manager_office) VALUES "
          "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?14,?15,?10,?14,?15,?11,?12,?16,?13)")
        .Bind(1, insurer)
        .Bind(2, insured)
        .Bind(3, level)
        .Bind(4, certified)
        .Bind(5, from)
        .Bind(6, to)
        .Bind(7, static_cast<int64_t>(MonthlyLimitUnits(level)))
        .Bind(8, static_cast<int64_t>(i == 9 ? 1 : 0))
        .Bind(9, static_cast<int64_t>(copays[i % 4]))
        .Bind(10, stages[i % 6])
        .Bind(11, static_cast<int64_t>(home[i % 5]))
        .Bind(12, static_cast<int64_t>(equipment[i % 4]))
        .Bind(13, care_manager)
        .Bind(14, dates.copay_from)
        .Bind(15, dates.copay_to)
        .Bind(16, static_cast<int64_t>(dates.fiscal_year))
        .Run();
  }
  // Certification: in progress for applicants (cycling through the steps), certified otherwise.
  std::string status = applying ? certification_steps[(i / 9) % 4] : "certified";
  std::string applied = applying ? DayOf(month - 1, 1) : DayOf(certified_in, 1);
  Query(db_, "INSERT INTO certifications VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
      .Bind(1, insurer)
      .Bind(2, insured)
      .Bind(3, status)
      .Bind(4, applied)
      .Bind(5, applying ? DayOf(month, 1) : certified)
      .Bind(6, applying ? "" : level)
      .Run();
  bool surveyed = status != "applied";
  bool opinion = status != "applied" && status != "surveyed";
  for (auto [kind, present, title] :
       {std::make_tuple("survey", surveyed, "Nintei Chosahyo (certification survey)"),
        std::make_tuple("physician_opinion", opinion, "Shujii Ikensho (physician opinion)")}) {
    if (!present) continue;
    std::string id =
        absl::StrCat(kind == std::string("survey") ? "S-" : "P-", insurer, "-", insured);
    std::string pdf =
        MakePdf(title, {"kaigo-sandbox synthetic document",
                        "insurer " + insurer + " insured " + insured, "status " + status});
    Query(db_, "INSERT INTO documents VALUES (?1, ?2, ?3, ?4, ?5)")
        .Bind(1, id)
        .Bind(2, insurer)
        .Bind(3, insured)
        .Bind(4, kind)
        .BindBlob(5, pdf)
        .Run();
  }
}

Tokens PlatformModel::IssueTokens(const std::string& office, const std::string& user_id) {
  Tokens t{RandomToken(), RandomToken(), kAccessSeconds, kRefreshSeconds};
  int64_t now = now_();
  Query(db_, "INSERT INTO tokens VALUES (?1, 'access', ?2, ?3, ?4)")
      .Bind(1, t.access_token)
      .Bind(2, office)
      .Bind(3, user_id)
      .Bind(4, now + kAccessSeconds)
      .Run();
  Query(db_, "INSERT INTO tokens VALUES (?1, 'refresh', ?2, ?3, ?4)")
      .Bind(1, t.refresh_token)
      .Bind(2, office)
      .Bind(3, user_id)
      .Bind(4, now + kRefreshSeconds)
      .Run();
  return t;
}

absl::StatusOr<Tokens> PlatformModel::Login(const std::string& office, const std::string& user_id,
                                            const std::string& password) {
  std::lock_guard<std::mutex> lock(mu_);
  Query user(db_,
             "SELECT office, salt, password_sha256, failures, locked_until FROM users "
             "WHERE user_id = ?1");
  user.Bind(1, user_id);
  if (!user.Row()) return absl::UnauthenticatedError("user ID or password is wrong");
  int64_t now = now_();
  if (user.Int(4) > now) {
    return absl::UnauthenticatedError(
        absl::StrCat("the account is locked after repeated failures; try again after ",
                     absl::FormatTime("%H:%M", absl::FromUnixSeconds(user.Int(4)),
                                      absl::FixedTimeZone(9 * 3600))));
  }
  if (Sha256(user.Text(1) + password) != user.Text(2)) {
    int failures = static_cast<int>(user.Int(3)) + 1;
    int64_t locked_until = failures >= kMaxFailures ? now + kLockSeconds : 0;
    Query(db_, "UPDATE users SET failures = ?1, locked_until = ?2 WHERE user_id = ?3")
        .Bind(1, static_cast<int64_t>(failures >= kMaxFailures ? 0 : failures))
        .Bind(2, locked_until)
        .Bind(3, user_id)
        .Run();
    return absl::UnauthenticatedError("user ID or password is wrong");
  }
  if (user.Text(0) != office) {
    return absl::PermissionDeniedError("the user does not belong to the certificate's office");
  }
  Query(db_, "UPDATE users SET failures = 0 WHERE user_id = ?1").Bind(1, user_id).Run();
  return IssueTokens(office, user_id);
}

absl::StatusOr<Tokens> PlatformModel::Refresh(const std::string& office,
                                              const std::string& refresh_token) {
  std::lock_guard<std::mutex> lock(mu_);
  Query q(db_,
          "SELECT office, user_id, expires_at FROM tokens WHERE token = ?1 AND kind = 'refresh'");
  q.Bind(1, refresh_token);
  if (!q.Row() || q.Text(0) != office || q.Int(2) <= now_()) {
    return absl::UnauthenticatedError("the refresh token is invalid or expired; log in again");
  }
  std::string user_id = q.Text(1);
  Query(db_, "DELETE FROM tokens WHERE token = ?1").Bind(1, refresh_token).Run();
  return IssueTokens(office, user_id);
}

absl::StatusOr<Session> PlatformModel::Authenticate(const std::string& office,
                                                    const std::string& bearer) {
  std::lock_guard<std::mutex> lock(mu_);
  Query q(db_,
          "SELECT office, user_id, expires_at FROM tokens WHERE token = ?1 AND kind = 'access'");
  q.Bind(1, bearer);
  if (!q.Row() || q.Text(0) != office) return absl::UnauthenticatedError("invalid access token");
  if (q.Int(2) <= now_()) return absl::UnauthenticatedError("the access token has expired");
  return Session{q.Text(0), q.Text(1)};
}

void PlatformModel::ExpireAccessTokens() {
  std::lock_guard<std::mutex> lock(mu_);
  Query(db_, "UPDATE tokens SET expires_at = 0 WHERE kind = 'access'").Run();
}

absl::Status PlatformModel::AdvanceCertification(const std::string& insurer,
                                                 const std::string& insured) {
  std::lock_guard<std::mutex> lock(mu_);
  Query q(db_, "SELECT status FROM certifications WHERE insurer = ?1 AND insured = ?2");
  q.Bind(1, insurer).Bind(2, insured);
  if (!q.Row()) return absl::NotFoundError("no certification for " + insurer + "/" + insured);
  static const char* kSteps[] = {"applied", "surveyed", "opinion_received", "under_review",
                                 "certified"};
  std::string status = q.Text(0);
  size_t step = 0;
  while (step < 4 && status != kSteps[step]) ++step;
  if (step >= 4) return absl::FailedPreconditionError("already certified");
  std::string next = kSteps[step + 1];
  Query(db_,
        "UPDATE certifications SET status = ?1, updated_on = ?2, result = ?3 "
        "WHERE insurer = ?4 AND insured = ?5")
      .Bind(1, next)
      .Bind(2, Today())
      .Bind(3, next == "certified" ? "21" : "")
      .Bind(4, insurer)
      .Bind(5, insured)
      .Run();
  const char* kind = next == "surveyed"           ? "survey"
                     : next == "opinion_received" ? "physician_opinion"
                                                  : nullptr;
  if (kind != nullptr) {
    std::string id = std::string(next == "surveyed" ? "S-" : "P-") + insurer + "-" + insured;
    Query(db_, "INSERT OR IGNORE INTO documents VALUES (?1, ?2, ?3, ?4, ?5)")
        .Bind(1, id)
        .Bind(2, insurer)
        .Bind(3, insured)
        .Bind(4, kind)
        .BindBlob(5, MakePdf(kind, {"kaigo-sandbox synthetic document", "status " + next}))
        .Run();
  }
  return absl::OkStatus();
}

json PlatformModel::Municipalities() {
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::array();
  Query q(db_, "SELECT insurer, name, live_from FROM municipalities ORDER BY insurer");
  while (q.Row()) {
    out.push_back(
        {{"insurer_number", q.Text(0)}, {"name", q.Text(1)}, {"live_from", DateOrNull(q.Text(2))}});
  }
  return out;
}

std::optional<BusinessError> PlatformModel::CheckMunicipality(const std::string& insurer,
                                                              const std::string& date) {
  Query q(db_, "SELECT name, live_from FROM municipalities WHERE insurer = ?1");
  q.Bind(1, insurer);
  if (!q.Row()) {
    return BusinessError{"INSURER_UNKNOWN",
                         "保険者番号 " + insurer + " is not a municipality of the platform"};
  }
  if (q.IsNull(1)) {
    return BusinessError{"MUNICIPALITY_NOT_LIVE",
                         q.Text(0) + " has not scheduled its move to the platform",
                         {{"live_from", nullptr}}};
  }
  if (q.Text(1) > date) {
    return BusinessError{"MUNICIPALITY_NOT_LIVE",
                         q.Text(0) + " goes live on the platform on " + q.Text(1),
                         {{"live_from", q.Text(1)}}};
  }
  return std::nullopt;
}

json PlatformModel::InsuredCertificate(const Session& session, const std::string& insurer,
                                       const std::string& insured, const std::string& as_of,
                                       std::optional<BusinessError>* error) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string date = as_of.empty() ? Today() : as_of;
  if ((*error = CheckMunicipality(insurer, Today()))) return nullptr;
  Query kind(db_, "SELECT kind FROM offices WHERE number = ?1");
  kind.Bind(1, session.office);
  // 負担割合証 and 負担限度額認定証 are not shared with medical institutions (WG9).
  bool medical = kind.Row() && kind.Text(0) == "medical";
  Query q(db_,
          "SELECT care_level, certified_on, valid_from, valid_to, monthly_limit_units, "
          "superseded, copay_percent, copay_from, copay_to, cost_limit_stage, cost_limit_from, "
          "cost_limit_to, home_modification_used, equipment_used, equipment_fiscal_year "
          "FROM recipients WHERE insurer = ?1 AND insured = ?2 ORDER BY id");
  q.Bind(1, insurer).Bind(2, insured);
  json records = json::array();
  while (q.Row()) {
    bool applying = q.Text(0) == "applying";
    json r = {{"insurer_number", insurer},
              {"insured_number", insured},
              {"certification_status", applying ? "applying" : "certified"},
              {"care_level_code", applying ? json(nullptr) : json(q.Text(0))},
              {"certified_on", DateOrNull(q.Text(1))},
              {"valid_from", DateOrNull(q.Text(2))},
              {"valid_to", DateOrNull(q.Text(3))},
              {"monthly_limit_units", q.Int(4)},
              {"superseded", q.Int(5) != 0},
              {"home_modification_used_yen", q.Int(12)},
              {"equipment_purchase_used_yen", q.Int(13)},
              {"equipment_purchase_fiscal_year", q.Int(14)}};
    if (!medical) {
      // 負担割合証 and 負担限度額認定証 run August–July; by August 1 the municipality has issued
      // the next year's, so the answer is the one in force on `date`.
      absl::CivilDay on;
      std::string from = q.Text(7), to = q.Text(8);
      if (absl::ParseCivilTime(date, &on) && (date < from || date > to)) {
        int year = on.month() >= 8 ? on.year() : on.year() - 1;
        from = IsoDate(absl::CivilDay(year, 8, 1));
        to = IsoDate(absl::CivilDay(year + 1, 7, 31));
      }
      r["copay"] = {{"percent", q.Int(6)}, {"valid_from", from}, {"valid_to", to}};
      r["cost_limit"] = {{"stage", q.Text(9)}, {"valid_from", from}, {"valid_to", to}};
    }
    records.push_back(std::move(r));
  }
  return {{"as_of", date}, {"records", records}};
}

json PlatformModel::CertificationProgress(const Session& session, const std::string& insurer,
                                          const std::string& insured,
                                          std::optional<BusinessError>* error) {
  std::lock_guard<std::mutex> lock(mu_);
  if ((*error = CheckMunicipality(insurer, Today()))) return nullptr;
  // 認定情報 only for the care managers of the recipient's 居宅介護支援事業所.
  Query who(
      db_,
      "SELECT 1 FROM recipients r JOIN offices o ON o.number = r.care_manager_office "
      "WHERE r.insurer = ?1 AND r.insured = ?2 AND o.number = ?3 AND o.kind = 'care_manager'");
  who.Bind(1, insurer).Bind(2, insured).Bind(3, session.office);
  if (!who.Row()) {
    *error = BusinessError{"NOT_PERMITTED",
                           "認定情報 is shown only to the care managers of the recipient's "
                           "居宅介護支援事業所"};
    return nullptr;
  }
  // … and, of that office's users, only to those whose job type (職種) is care manager (別紙4).
  Query job(db_, "SELECT job_type FROM users WHERE user_id = ?1");
  job.Bind(1, session.user_id);
  std::string job_type = job.Row() ? job.Text(0) : "";
  if (job_type != "care_manager") {
    *error = BusinessError{"NOT_PERMITTED",
                           "認定情報 is shown only to users whose job type (職種) is care "
                           "manager (介護支援専門員); this user's job type is " +
                               (job_type.empty() ? std::string("unknown") : job_type)};
    return nullptr;
  }
  Query q(db_,
          "SELECT status, applied_on, updated_on, result FROM certifications "
          "WHERE insurer = ?1 AND insured = ?2");
  q.Bind(1, insurer).Bind(2, insured);
  if (!q.Row()) {
    *error = BusinessError{"NOT_FOUND", "no certification for this recipient"};
    return nullptr;
  }
  return {{"status", q.Text(0)},
          {"applied_on", q.Text(1)},
          {"updated_on", q.Text(2)},
          {"result_care_level_code", q.Text(3).empty() ? json(nullptr) : json(q.Text(3))}};
}

json PlatformModel::CertificationDocuments(const Session& session, const std::string& insurer,
                                           const std::string& insured,
                                           std::optional<BusinessError>* error) {
  if (CertificationProgress(session, insurer, insured, error).is_null()) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::array();
  Query q(db_,
          "SELECT id, kind, length(content) FROM documents WHERE insurer = ?1 AND "
          "insured = ?2 ORDER BY id DESC");
  q.Bind(1, insurer).Bind(2, insured);
  while (q.Row()) {
    out.push_back({{"document_id", q.Text(0)},
                   {"kind", q.Text(1)},
                   {"size_bytes", q.Int(2)},
                   {"media_type", "application/pdf"}});
  }
  return {{"documents", out}};
}

absl::StatusOr<std::string> PlatformModel::Document(const Session& session,
                                                    const std::string& document_id) {
  std::string insurer, insured, content;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Query q(db_, "SELECT insurer, insured, content FROM documents WHERE id = ?1");
    q.Bind(1, document_id);
    if (!q.Row()) return absl::NotFoundError("no document " + document_id);
    insurer = q.Text(0);
    insured = q.Text(1);
    content = q.Blob(2);
  }
  std::optional<BusinessError> error;
  if (CertificationProgress(session, insurer, insured, &error).is_null()) {
    return absl::PermissionDeniedError(error ? error->message : "not permitted");
  }
  return content;
}

std::optional<std::string> PlatformModel::OfficeKind(const std::string& number) {
  std::lock_guard<std::mutex> lock(mu_);
  Query q(db_, "SELECT kind FROM offices WHERE number = ?1");
  q.Bind(1, number);
  if (!q.Row()) return std::nullopt;
  return q.Text(0);
}

std::vector<std::pair<std::string, std::string>> PlatformModel::Recipients() {
  std::lock_guard<std::mutex> lock(mu_);
  // #19 has two records: one entry per recipient, placed by its first record.
  Query q(db_,
          "SELECT insurer, insured FROM recipients GROUP BY insurer, insured ORDER BY MIN(id)");
  std::vector<std::pair<std::string, std::string>> out;
  while (q.Row()) out.emplace_back(q.Text(0), q.Text(1));
  return out;
}

std::optional<BusinessError> PlatformModel::CheckRecipient(const std::string& insurer,
                                                           const std::string& insured) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto error = CheckMunicipality(insurer, Today())) return error;
  Query q(db_, "SELECT 1 FROM recipients WHERE insurer = ?1 AND insured = ?2");
  q.Bind(1, insurer).Bind(2, insured);
  if (!q.Row()) {
    return BusinessError{"NOT_FOUND",
                         "no recipient " + insured + " of insurer " + insurer + " on the platform"};
  }
  return std::nullopt;
}

absl::Status PlatformModel::SetCareManagerOffice(const std::string& insurer,
                                                 const std::string& insured,
                                                 const std::string& office) {
  std::lock_guard<std::mutex> lock(mu_);
  Query(db_, "UPDATE recipients SET care_manager_office = ?3 WHERE insurer = ?1 AND insured = ?2")
      .Bind(1, insurer)
      .Bind(2, insured)
      .Bind(3, office)
      .Run();
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError("no recipient " + insurer + "/" + insured);
  }
  return absl::OkStatus();
}

}  // namespace kaigo::sandbox

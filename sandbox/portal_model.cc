#include "sandbox/portal_model.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sandbox/sqlite_query.h"

namespace kaigo::sandbox {

using nlohmann::json;

namespace {

constexpr int64_t kOtpSeconds = 10 * 60;
constexpr int kMaxEclaimFailures = 3;
constexpr int64_t kLockSeconds = 30 * 60;
constexpr char kNoReply[] = "no-reply@mail.kaigo-kiban-portal.jp";
constexpr char kEclaimOtpSubject[] = "ワンタイムパスワード発行通知(介護保険資格確認等WEBサービス)";
constexpr char kPortalOtpSubject[] = "【介護情報基盤ポータル】ワンタイムパスワード発行通知";
constexpr char kAlreadyRegistered[] =
    "同一組織で新規登録が完了しています。登録済みユーザからユーザ作成を行って下さい。";
constexpr char kTermsVersion[] = "2025-10-17";

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS eclaim_accounts (kj_id TEXT PRIMARY KEY, office TEXT NOT NULL,
  office_name TEXT NOT NULL, password TEXT NOT NULL, temporary INTEGER NOT NULL,
  security_code TEXT NOT NULL, email TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS registered_offices (office TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS registrations (id TEXT PRIMARY KEY, office TEXT NOT NULL,
  kj_id TEXT NOT NULL, stage TEXT NOT NULL, details TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS portal_users (email TEXT PRIMARY KEY, office TEXT NOT NULL,
  details TEXT NOT NULL, password TEXT NOT NULL, initial INTEGER NOT NULL,
  created_by TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS otps (address TEXT NOT NULL, purpose TEXT NOT NULL, code TEXT NOT NULL,
  expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS logins (id TEXT PRIMARY KEY, office TEXT NOT NULL,
  email TEXT NOT NULL, stage TEXT NOT NULL, terms_fetched INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS portal_sessions (token TEXT PRIMARY KEY, email TEXT NOT NULL,
  office TEXT NOT NULL);
)sql";

BusinessError Refuse(const std::string& code, const std::string& message,
                     json extra = json::object()) {
  return BusinessError{code, message, std::move(extra)};
}

std::string Text(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
}

std::string SixDigits() {
  unsigned char bytes[4];
  RAND_bytes(bytes, sizeof bytes);
  uint32_t v = (bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]) % 1000000;
  char out[8];
  snprintf(out, sizeof out, "%06u", v);
  return out;
}

// The portal's password rule for new passwords.
bool StrongEnough(const std::string& p) {
  bool letter = false, digit = false;
  for (char c : p) {
    letter |= (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    digit |= c >= '0' && c <= '9';
  }
  return p.size() >= 8 && p.size() <= 64 && letter && digit;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PortalModel>> PortalModel::Open(const std::string& path,
                                                               Mailer* mailer,
                                                               std::function<int64_t()> now) {
  bool fresh = false;
  auto db = OpenDatabase(path, kSchema, "eclaim_accounts", &fresh);
  if (!db.ok()) return db.status();
  std::unique_ptr<PortalModel> model(new PortalModel(*db, mailer, std::move(now)));
  if (fresh) {
    if (absl::Status s = model->Seed(); !s.ok()) return s;
  }
  return model;
}

PortalModel::~PortalModel() { sqlite3_close_v2(db_); }

absl::Status PortalModel::Seed() {
  struct Account {
    const char* kj_id;
    const char* office;
    const char* name;
    const char* password;
    int temporary;
    const char* security_code;
    const char* email;
  };
  const Account accounts[] = {
      {"KJ000000000017", "1371000017", "さくら居宅介護支援事業所", "Eclaim#Sakura1", 0, "",
       "office@sakura.example"},
      {"KJ000000000025", "1371000025", "ひまわり訪問介護", "Eclaim#Himawari1", 0, "4321",
       "eclaim@himawari.example"},
      {"KJ000000000033", "1371000033", "あおば居宅介護支援事業所", "KARI-0033", 1, "",
       "eclaim@aoba.example"},
      {"KJ000000001234", "1312345670", "みどりクリニック", "Eclaim#Midori1", 0, "",
       "eclaim@midori.example"},
  };
  for (const auto& a : accounts) {
    Query(db_,
          "INSERT INTO eclaim_accounts(kj_id, office, office_name, password, temporary, "
          "security_code, email) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .Bind(1, a.kj_id)
        .Bind(2, a.office)
        .Bind(3, a.name)
        .Bind(4, a.password)
        .Bind(5, static_cast<int64_t>(a.temporary))
        .Bind(6, a.security_code)
        .Bind(7, a.email)
        .Run();
  }
  return absl::OkStatus();
}

void PortalModel::ExpireOtps() {
  std::lock_guard<std::mutex> lock(mu_);
  Query(db_, "UPDATE otps SET expires_at = ?1").Bind(1, now_() - 1).Run();
}

std::string PortalModel::IssueOtp(const std::string& address, const std::string& purpose) {
  std::string code = SixDigits();
  Query(db_, "INSERT INTO otps VALUES (?1, ?2, ?3, ?4, 0)")
      .Bind(1, address)
      .Bind(2, purpose)
      .Bind(3, code)
      .Bind(4, now_() + kOtpSeconds)
      .Run();
  bool eclaim = purpose == "eclaim";
  std::string text = absl::StrCat(
      eclaim ? "介護保険資格確認等WEBサービスの初回利用登録" : "介護情報基盤ポータルへのログイン",
      "のワンタイムパスワードを発行しました。\n\nワンタイムパスワード：", code,
      "\n有効期限：発行から10分\n\n本メールは送信専用です。\n");
  mailer_->Send(address, kNoReply, eclaim ? kEclaimOtpSubject : kPortalOtpSubject, text)
      .IgnoreError();
  return code;
}

std::optional<BusinessError> PortalModel::CheckOtp(const std::string& address,
                                                   const std::string& purpose,
                                                   const std::string& code) {
  Query q(db_,
          "SELECT rowid, expires_at, used FROM otps WHERE address = ?1 AND purpose = ?2 AND "
          "code = ?3");
  q.Bind(1, address).Bind(2, purpose).Bind(3, code);
  if (!q.Row()) return Refuse("OTP_INVALID", "ワンタイムパスワードが正しくありません。");
  if (q.Int(2) != 0) return Refuse("OTP_USED", "このワンタイムパスワードは使用済みです。");
  if (q.Int(1) < now_()) {
    return Refuse("OTP_EXPIRED",
                  "ワンタイムパスワードの有効期限が切れています。再度発行してください。");
  }
  Query(db_, "UPDATE otps SET used = 1 WHERE rowid = ?1").Bind(1, q.Int(0)).Run();
  return std::nullopt;
}

std::optional<BusinessError> PortalModel::CheckUserDetails(const json& d) {
  std::string email = Text(d, "email"), phone = Text(d, "phone");
  if (email.find('@') == std::string::npos) {
    return Refuse("INVALID_FIELD", "メールアドレスを正しく入力してください。",
                  {{"field", "email"}});
  }
  for (const char* required : {"name", "kana"}) {
    if (Text(d, required).empty()) {
      return Refuse("INVALID_FIELD", std::string(required) + " は必須です。",
                    {{"field", required}});
    }
  }
  if (phone.empty() || phone.find_first_not_of("0123456789") != std::string::npos) {
    return Refuse("INVALID_FIELD", "電話番号は半角数字（ハイフンなし）で入力してください。",
                  {{"field", "phone"}});
  }
  Query taken(db_, "SELECT 1 FROM portal_users WHERE email = ?1");
  taken.Bind(1, email);
  if (taken.Row()) {
    return Refuse("EMAIL_IN_USE", "このメールアドレスは既に登録されています。",
                  {{"field", "email"}});
  }
  return std::nullopt;
}

json PortalModel::CreateUser(const std::string& office, const json& details,
                             const std::string& created_by) {
  std::string email = Text(details, "email");
  std::string initial = "Init" + SixDigits() + "x";
  Query(db_, "INSERT INTO portal_users VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)")
      .Bind(1, email)
      .Bind(2, office)
      .Bind(3, details.dump())
      .Bind(4, initial)
      .Bind(5, created_by)
      .Bind(6, now_())
      .Run();
  mailer_
      ->Send(email, kNoReply, "【介護情報基盤ポータル】ユーザ登録完了のお知らせ",
             absl::StrCat(Text(details, "name"),
                          " 様\n\n介護情報基盤ポータルのユーザ登録が完了しました。\n\nユーザID：",
                          email, "\n初期パスワード：", initial,
                          "\n\n初回ログイン時にパスワードの変更が必要です。\n"))
      .IgnoreError();
  return {{"user_id", email}};
}

json PortalModel::Eclaim(const json& body, const std::string& office,
                         std::optional<BusinessError>* error) {
  std::string kj = Text(body, "kj_id");
  Query q(db_,
          "SELECT office, password, temporary, security_code, email, failures, locked_until "
          "FROM eclaim_accounts WHERE kj_id = ?1");
  q.Bind(1, kj);
  int64_t now = now_();
  if (!q.Row() || q.Text(0) != office) {
    *error = Refuse("ECLAIM_AUTH_FAILED", "ユーザIDまたはパスワードが正しくありません。");
    return nullptr;
  }
  if (q.Int(6) > now) {
    *error = Refuse("ECLAIM_LOCKED", "アカウントがロックされています。30分後に再度お試しください。",
                    {{"locked_until", q.Int(6)}});
    return nullptr;
  }
  auto fail = [&](BusinessError e) {
    int failures = static_cast<int>(q.Int(5)) + 1;
    int64_t locked = failures >= kMaxEclaimFailures ? now + kLockSeconds : 0;
    Query(db_, "UPDATE eclaim_accounts SET failures = ?2, locked_until = ?3 WHERE kj_id = ?1")
        .Bind(1, kj)
        .Bind(2, static_cast<int64_t>(locked ? 0 : failures))
        .Bind(3, locked)
        .Run();
    e.extra["tries_left"] = locked ? 0 : kMaxEclaimFailures - failures;
    if (locked) {
      e = Refuse("ECLAIM_LOCKED", "アカウントがロックされました。30分後に再度お試しください。",
                 {{"locked_until", locked}});
    }
    *error = e;
    return nullptr;
  };
  if (Text(body, "password") != q.Text(1)) {
    return fail(Refuse("ECLAIM_AUTH_FAILED", "ユーザIDまたはパスワードが正しくありません。"));
  }
  if (q.Int(2) != 0) {
    *error = Refuse("TEMPORARY_PASSWORD",
                    "仮パスワードではログインできません。電子請求受付システムでパスワードを変更して"
                    "ください。");
    return nullptr;
  }
  if (!q.Text(3).empty() && Text(body, "security_code") != q.Text(3)) {
    return fail(Refuse(
        Text(body, "security_code").empty() ? "SECURITY_CODE_REQUIRED" : "SECURITY_CODE_INVALID",
        "セキュリティコードが正しくありません。"));
  }
  Query(db_, "UPDATE eclaim_accounts SET failures = 0 WHERE kj_id = ?1").Bind(1, kj).Run();
  Query done(db_, "SELECT 1 FROM registered_offices WHERE office = ?1");
  done.Bind(1, office);
  if (done.Row()) {
    *error = Refuse("ALREADY_REGISTERED", kAlreadyRegistered);
    return nullptr;
  }
  std::string id = "REG-" + RandomToken().substr(0, 16);
  Query(db_, "INSERT INTO registrations(id, office, kj_id, stage) VALUES (?1, ?2, ?3, 'otp')")
      .Bind(1, id)
      .Bind(2, office)
      .Bind(3, kj)
      .Run();
  std::string email = q.Text(4);
  IssueOtp(email, "eclaim");
  return {{"registration_id", id},
          {"otp_sent_to", email.substr(0, 2) + "***" + email.substr(email.find('@'))}};
}

json PortalModel::Registration(const std::string& id, const std::string& step, const json& body,
                               const std::string& office, std::optional<BusinessError>* error) {
  Query r(db_,
          "SELECT r.stage, r.details, a.email FROM registrations r JOIN eclaim_accounts a "
          "ON a.kj_id = r.kj_id WHERE r.id = ?1 AND r.office = ?2");
  r.Bind(1, id).Bind(2, office);
  if (!r.Row()) {
    *error = Refuse("NOT_FOUND", "登録手続きが見つかりません。最初からやり直してください。");
    return nullptr;
  }
  std::string stage = r.Text(0);
  auto wrong_step = [&] {
    *error =
        Refuse("WRONG_STEP", "この手続きは現在 " + stage + " の段階です。", {{"stage", stage}});
    return nullptr;
  };
  if (step == "otp") {
    if (stage != "otp") return wrong_step();
    *error = CheckOtp(r.Text(2), "eclaim", Text(body, "code"));
    if (*error) return nullptr;
    Query(db_, "UPDATE registrations SET stage = 'details' WHERE id = ?1").Bind(1, id).Run();
    return {{"next", "details"}};
  }
  if (step == "user") {
    if (stage != "details" && stage != "confirm") return wrong_step();
    *error = CheckUserDetails(body);
    if (*error) return nullptr;
    Query(db_, "UPDATE registrations SET stage = 'confirm', details = ?2 WHERE id = ?1")
        .Bind(1, id)
        .Bind(2, body.dump())
        .Run();
    return {{"next", "confirm"}, {"details", body}};
  }
  if (step == "confirm") {
    if (stage != "confirm") return wrong_step();
    Query done(db_, "SELECT 1 FROM registered_offices WHERE office = ?1");
    done.Bind(1, office);
    if (done.Row()) {
      *error = Refuse("ALREADY_REGISTERED", kAlreadyRegistered);
      return nullptr;
    }
    json details = json::parse(r.Text(1), nullptr, false);
    Query(db_, "INSERT INTO registered_offices VALUES (?1, ?2)")
        .Bind(1, office)
        .Bind(2, now_())
        .Run();
    Query(db_, "UPDATE registrations SET stage = 'done' WHERE id = ?1").Bind(1, id).Run();
    json user = CreateUser(office, details, "first-time registration");
    user["next"] = "first_login";
    return user;
  }
  *error = Refuse("NOT_FOUND", "no such step: " + step);
  return nullptr;
}

json PortalModel::Login(const json& body, const std::string& office,
                        std::optional<BusinessError>* error) {
  std::string email = Text(body, "email");
  Query u(db_, "SELECT password, office FROM portal_users WHERE email = ?1");
  u.Bind(1, email);
  if (!u.Row() || u.Text(0) != Text(body, "password") || u.Text(1) != office) {
    *error = Refuse("LOGIN_FAILED", "ユーザIDまたはパスワードが正しくありません。");
    return nullptr;
  }
  std::string id = "LOGIN-" + RandomToken().substr(0, 16);
  Query(db_, "INSERT INTO logins(id, office, email, stage) VALUES (?1, ?2, ?3, 'otp')")
      .Bind(1, id)
      .Bind(2, office)
      .Bind(3, email)
      .Run();
  IssueOtp(email, "portal");
  return {{"login_id", id}, {"next", "otp"}};
}

json PortalModel::LoginStep(const std::string& method, const std::string& id,
                            const std::string& step, const json& body, const std::string& office,
                            std::optional<BusinessError>* error) {
  Query l(db_,
          "SELECT l.stage, l.email, l.terms_fetched, u.initial, u.details FROM logins l JOIN "
          "portal_users u ON u.email = l.email WHERE l.id = ?1 AND l.office = ?2");
  l.Bind(1, id).Bind(2, office);
  if (!l.Row()) {
    *error = Refuse("NOT_FOUND", "ログイン手続きが見つかりません。");
    return nullptr;
  }
  std::string stage = l.Text(0), email = l.Text(1);
  auto session = [&] {
    std::string token = RandomToken();
    Query(db_, "INSERT INTO portal_sessions VALUES (?1, ?2, ?3)")
        .Bind(1, token)
        .Bind(2, email)
        .Bind(3, office)
        .Run();
    Query(db_, "UPDATE logins SET stage = 'done' WHERE id = ?1").Bind(1, id).Run();
    Query name(db_, "SELECT office_name FROM eclaim_accounts WHERE office = ?1");
    name.Bind(1, office);
    json details = json::parse(l.Text(4), nullptr, false);
    return json{
        {"next", "mypage"},
        {"session", token},
        {"mypage",
         {{"user_name", Text(details, "name")}, {"office_name", name.Row() ? name.Text(0) : ""}}}};
  };
  if (step == "otp" && method == "POST") {
    if (stage != "otp") {
      *error = Refuse("WRONG_STEP", "ワンタイムパスワードは入力済みです。", {{"stage", stage}});
      return nullptr;
    }
    *error = CheckOtp(email, "portal", Text(body, "code"));
    if (*error) return nullptr;
    if (l.Int(3) == 0) return session();
    Query(db_, "UPDATE logins SET stage = 'password' WHERE id = ?1").Bind(1, id).Run();
    return {{"next", "set_password"}};
  }
  if (step == "terms" && method == "GET") {
    Query(db_, "UPDATE logins SET terms_fetched = 1 WHERE id = ?1").Bind(1, id).Run();
    return {{"version", kTermsVersion},
            {"text", "介護情報基盤ポータル利用規約（サンドボックス版）\n第1条 …"}};
  }
  if (step == "password" && method == "POST") {
    if (stage != "password") {
      *error =
          Refuse("WRONG_STEP", "パスワードの設定はこの段階ではできません。", {{"stage", stage}});
      return nullptr;
    }
    std::string next = Text(body, "new_password");
    if (next != Text(body, "new_password_confirmation")) {
      *error = Refuse("PASSWORD_MISMATCH", "確認用パスワードが一致しません。",
                      {{"field", "new_password_confirmation"}});
      return nullptr;
    }
    if (!StrongEnough(next)) {
      *error = Refuse("PASSWORD_POLICY",
                      "パスワードは英字と数字を含む8文字以上64文字以下で設定してください。",
                      {{"field", "new_password"}});
      return nullptr;
    }
    bool accepted = body.is_object() && body.contains("accept_terms") &&
                    body["accept_terms"].is_boolean() && body["accept_terms"].get<bool>();
    if (!accepted || l.Int(2) == 0) {
      *error = Refuse(
          accepted ? "TERMS_NOT_SHOWN" : "TERMS_NOT_ACCEPTED",
          accepted ? "利用規約を表示してから同意してください。" : "利用規約に同意してください。",
          {{"field", "accept_terms"}});
      return nullptr;
    }
    Query(db_, "UPDATE portal_users SET password = ?2, initial = 0 WHERE email = ?1")
        .Bind(1, email)
        .Bind(2, next)
        .Run();
    return session();
  }
  *error = Refuse("NOT_FOUND", "no such step: " + step);
  return nullptr;
}

json PortalModel::Users(const std::string& method, const json& body, const std::string& office,
                        const std::string& session, std::optional<BusinessError>* error) {
  Query s(db_, "SELECT email FROM portal_sessions WHERE token = ?1 AND office = ?2");
  s.Bind(1, session).Bind(2, office);
  if (!s.Row()) {
    *error = Refuse("NOT_LOGGED_IN", "ログインしてください。");
    return nullptr;
  }
  if (method == "GET") {
    json users = json::array();
    Query q(db_,
            "SELECT email, details, created_by, initial FROM portal_users WHERE office = ?1 "
            "ORDER BY created_at, email");
    q.Bind(1, office);
    while (q.Row()) {
      json d = json::parse(q.Text(1), nullptr, false);
      users.push_back({{"user_id", q.Text(0)},
                       {"name", Text(d, "name")},
                       {"first", q.Text(2) == "first-time registration"},
                       {"initial_password_pending", q.Int(3) != 0}});
    }
    return {{"users", users}};
  }
  Query added(db_,
              "SELECT COUNT(*) FROM portal_users WHERE office = ?1 AND created_by != "
              "'first-time registration'");
  added.Bind(1, office);
  if (added.Row() && added.Int(0) >= kMaxAddedUsers) {
    *error = Refuse("USER_LIMIT", "追加できるユーザは5名までです。", {{"limit", kMaxAddedUsers}});
    return nullptr;
  }
  *error = CheckUserDetails(body);
  if (*error) return nullptr;
  return CreateUser(office, body, s.Text(0));
}

json PortalModel::Handle(const std::string& method, const std::string& path, const json& body,
                         const std::string& office, const std::string& session,
                         std::optional<BusinessError>* error) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  if (parts.size() == 2 && parts[0] == "registration" && parts[1] == "eclaim" && method == "POST") {
    return Eclaim(body, office, error);
  }
  if (parts.size() == 3 && parts[0] == "registration" && method == "POST") {
    return Registration(parts[1], parts[2], body, office, error);
  }
  if (parts.size() == 1 && parts[0] == "login" && method == "POST")
    return Login(body, office, error);
  if (parts.size() == 3 && parts[0] == "login") {
    return LoginStep(method, parts[1], parts[2], body, office, error);
  }
  if (parts.size() == 1 && parts[0] == "users") return Users(method, body, office, session, error);
  *error = Refuse("NOT_FOUND", "no such portal endpoint: " + method + " /portal/v1/" + path);
  return nullptr;
}

}  // namespace kaigo::sandbox

// The platform's state and rules as the sandbox models them (shared/reference/webservice-api.md):
// offices and their web-service users (each with a job type, 職種), login with lockout, access
// (60 min) and refresh (8 h) tokens, municipalities and when they go live, recipients'
// qualification records, certification progress and documents, and who may see what (by office
// kind, by the recipient's 居宅介護支援事業所 and by the user's job type). State lives in SQLite;
// Seed() writes the deterministic data documented in sandbox/README.md.
//
// Thread-safe (one connection behind a mutex). Times are Unix seconds; dates are "YYYY-MM-DD".
#ifndef KAIGO_SANDBOX_PLATFORM_MODEL_H_
#define KAIGO_SANDBOX_PLATFORM_MODEL_H_

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace kaigo::sandbox {

// What the caller is, from its client certificate (office) and its token (user).
struct Session {
  std::string office;
  std::string user_id;
};

struct Tokens {
  std::string access_token;
  std::string refresh_token;
  int64_t access_expires_in = 0;
  int64_t refresh_expires_in = 0;
};

// A business error: HTTP 200 with {"error": {"code", "message", …}} (per the published API).
struct BusinessError {
  std::string code;
  std::string message;
  nlohmann::json extra = nlohmann::json::object();
};

class PlatformModel {
 public:
  // Opens (creating and seeding if new) the state in `path`. `now` supplies the clock.
  static absl::StatusOr<std::unique_ptr<PlatformModel>> Open(const std::string& path,
                                                             std::function<int64_t()> now);
  ~PlatformModel();

  // Login with the office's client certificate + user ID + password. Five failures in a row lock
  // the user for 30 minutes. UNAUTHENTICATED on bad credentials or a locked account, with the
  // reason; PERMISSION_DENIED when the user is not of the certificate's office.
  absl::StatusOr<Tokens> Login(const std::string& office, const std::string& user_id,
                               const std::string& password);
  absl::StatusOr<Tokens> Refresh(const std::string& office, const std::string& refresh_token);
  // The session of a valid access token presented with the same office's certificate.
  absl::StatusOr<Session> Authenticate(const std::string& office, const std::string& bearer);
  // Test control: every access token issued so far expires now.
  void ExpireAccessTokens();
  // Test control: moves a certification to its next status (applied → surveyed →
  // opinion_received → under_review → certified, with the result 要介護1), adding the documents.
  absl::Status AdvanceCertification(const std::string& insurer, const std::string& insured);

  nlohmann::json Municipalities();
  // 被保険者証 / 負担割合 / 負担限度額 / 住宅改修・福祉用具購入 records for a recipient as of a
  // date.
  nlohmann::json InsuredCertificate(const Session& session, const std::string& insurer,
                                    const std::string& insured, const std::string& as_of,
                                    std::optional<BusinessError>* error);
  // 認定情報: only for a user whose job type is care_manager, of the recipient's
  // 居宅介護支援事業所; else the business error NOT_PERMITTED naming the rule broken.
  nlohmann::json CertificationProgress(const Session& session, const std::string& insurer,
                                       const std::string& insured,
                                       std::optional<BusinessError>* error);
  nlohmann::json CertificationDocuments(const Session& session, const std::string& insurer,
                                        const std::string& insured,
                                        std::optional<BusinessError>* error);
  // The PDF bytes of a document the session may see.
  absl::StatusOr<std::string> Document(const Session& session, const std::string& document_id);

  // The kind of a known office ("care_manager", "service" or "medical"); nullopt when unknown.
  std::optional<std::string> OfficeKind(const std::string& number);
  // Every recipient once, as (insurer, insured), in seed order (#1 first).
  std::vector<std::pair<std::string, std::string>> Recipients();
  // Why a notification cannot be filed for the recipient today, if it cannot: INSURER_UNKNOWN,
  // MUNICIPALITY_NOT_LIVE (with live_from) or NOT_FOUND.
  std::optional<BusinessError> CheckRecipient(const std::string& insurer,
                                              const std::string& insured);
  // An accepted 居宅サービス計画作成依頼届出: `office` becomes the recipient's 居宅介護支援事業所,
  // so its care managers see the recipient's 認定情報 from now on. NOT_FOUND for an unknown
  // recipient.
  absl::Status SetCareManagerOffice(const std::string& insurer, const std::string& insured,
                                    const std::string& office);

 private:
  PlatformModel(sqlite3* db, std::function<int64_t()> now) : db_(db), now_(std::move(now)) {}
  absl::Status Seed();
  // Seed's parts, inside its transaction: the offices, their users, the municipalities (go-live
  // dates relative to the day of seeding) and recipient No. i of 50.
  struct SeedDates;
  void SeedOffices();
  void SeedUsers();
  void SeedMunicipalities(const SeedDates& dates);
  void SeedRecipient(int i, const SeedDates& dates);
  // A business error if the insurer is unknown or not live on `date`; also whether the office
  // may see certification data of the recipient.
  std::optional<BusinessError> CheckMunicipality(const std::string& insurer,
                                                 const std::string& date);
  std::string Today();
  Tokens IssueTokens(const std::string& office, const std::string& user_id);

  sqlite3* db_;
  std::function<int64_t()> now_;
  std::mutex mu_;
};

// A minimal valid one-page PDF showing `title` and `lines` (ASCII).
std::string MakePdf(const std::string& title, const std::vector<std::string>& lines);

}  // namespace kaigo::sandbox

#endif  // KAIGO_SANDBOX_PLATFORM_MODEL_H_

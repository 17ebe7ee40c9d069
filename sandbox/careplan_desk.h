// ケアプランデータ連携 (care-plan data exchange) and the 居宅サービス計画作成依頼届出 (care-plan
// request notification) as the sandbox models them (shared/reference/careplan-csv-4.1.md §3–5, §13;
// webservice-api.md §6, §9).
//
// Exchange: an office sends one send unit (送信単位: files sharing one 14-digit ファイル連番) to
// one other office per call (the API has no bulk send). File names must have the standard's shape
// and name the sender as their from-office and the destination as their to-office; the units one
// sender sends to one destination only ascend, because receivers process them in 連番 order; the
// same client reference again is the same send. The receiver lists what was sent to it in 連番
// order, fetches the files and acknowledges each send.
//
// Request notification (a browser-only function on the real platform): a care manager's office
// files on the recipient's behalf (代行提出) after checking the recipient's identity, either by My
// Number card (the same verification as the lookup by card) or by identity documents and the
// birth date. On acceptance the platform model makes the filing office the recipient's
// 居宅介護支援事業所.
//
// State (sends and their files, notifications, the seeded birth dates) lives in its own SQLite
// file. Thread-safe: one connection behind one mutex, held while calling the platform model and the
// card verifier, which never call back. Times are Unix seconds; dates "YYYY-MM-DD" in Japan time.
#ifndef KAIGO_SANDBOX_CAREPLAN_DESK_H_
#define KAIGO_SANDBOX_CAREPLAN_DESK_H_

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "sandbox/card_verifier.h"
#include "sandbox/platform_model.h"

namespace kaigo::sandbox {

class CareplanDesk {
 public:
  static constexpr int64_t kMaxFileBytes = 20 << 20;

  // A file of a send as the receiver fetches it.
  struct File {
    std::string media_type;  // "text/csv; charset=Shift_JIS" or "image/jpeg"
    std::string bytes;
  };

  // Opens (creating, and seeding the birth dates of `platform`'s recipients if new) the state in
  // `path`. `platform` and `cards` must outlive the desk.
  static absl::StatusOr<std::unique_ptr<CareplanDesk>> Open(const std::string& path,
                                                            PlatformModel* platform,
                                                            CardVerifier* cards,
                                                            std::function<int64_t()> now);
  ~CareplanDesk();

  // {send_id, sent_at, unit, files: [{name, sha256, size}]}; INTERNAL when it cannot be stored.
  absl::StatusOr<nlohmann::json> Send(const Session& session, const nlohmann::json& request,
                                      std::optional<BusinessError>* error);
  // {sends: [{send_id, to_office, to_service_type, unit, sent_at, files, acknowledged_at}]} of
  // the session's office, oldest first. `month` "" (all) or "YYYYMM" (sent in that month in Japan).
  nlohmann::json Sent(const Session& session, const std::string& month,
                      std::optional<BusinessError>* error);
  // {received: [{send_id, from_office, from_service_type, unit, sent_at, files,
  // acknowledged_at}]} addressed to the session's office, by 連番 ascending.
  nlohmann::json Received(const Session& session, const std::string& month,
                          std::optional<BusinessError>* error);
  // NOT_FOUND when the send is not addressed to the session's office or holds no such file.
  absl::StatusOr<File> ReceivedFile(const Session& session, const std::string& send_id,
                                    const std::string& name);
  // {send_id, acknowledged_at}; the first acknowledgement's time on every later one.
  nlohmann::json Acknowledge(const Session& session, const std::string& send_id,
                             std::optional<BusinessError>* error);

  // 居宅サービス計画作成依頼届出: {notification_id, accepted_on, status, identity_method};
  // INTERNAL when it cannot be stored.
  absl::StatusOr<nlohmann::json> FileRequest(const Session& session, const nlohmann::json& request,
                                             std::optional<BusinessError>* error);
  // The stored notification, for the office that filed it.
  nlohmann::json GetRequest(const Session& session, const std::string& id,
                            std::optional<BusinessError>* error);

 private:
  CareplanDesk(sqlite3* db, PlatformModel* platform, CardVerifier* cards,
               std::function<int64_t()> now)
      : db_(db), platform_(platform), cards_(cards), now_(std::move(now)) {}
  absl::Status Seed();
  // Send's parts, in order. Each refusal sets *error and makes the part answer false/nullopt.
  struct IncomingSend;
  // The destination and the files, decoded and checked for form.
  static std::optional<IncomingSend> ReadSend(const nlohmann::json& request,
                                              std::optional<BusinessError>* error);
  // Every file's name parsed and matched to sender and destination; one ファイル連番 for all.
  static bool MatchFileNames(const Session& session, IncomingSend* send,
                             std::optional<BusinessError>* error);
  // The unit above every unit this sender sent to this destination before.
  bool UnitInOrder(const Session& session, const IncomingSend& send,
                   std::optional<BusinessError>* error);
  // The send and its files in one transaction; the send's id.
  absl::StatusOr<std::string> StoreSend(const Session& session, const IncomingSend& send);
  // The answer to the send `id` (as Send gives it).
  nlohmann::json SendAnswer(const std::string& id);
  nlohmann::json FilesOf(const std::string& id);
  // The sends whose `office_column` is `office`, in `order`, as list entries.
  nlohmann::json ListSends(const char* office_column, const std::string& office,
                           const std::string& month, const char* order,
                           std::optional<BusinessError>* error);
  nlohmann::json RequestAnswer(const std::string& id, bool full);
  // The identity check of a notification; the identity as stored (without signature bytes).
  std::optional<nlohmann::json> CheckIdentity(const Session& session,
                                              const nlohmann::json& identity,
                                              const std::string& insurer,
                                              const std::string& insured,
                                              std::optional<BusinessError>* error);

  sqlite3* db_;
  PlatformModel* platform_;
  CardVerifier* cards_;
  std::function<int64_t()> now_;
  std::mutex mu_;
};

}  // namespace kaigo::sandbox

#endif  // KAIGO_SANDBOX_CAREPLAN_DESK_H_

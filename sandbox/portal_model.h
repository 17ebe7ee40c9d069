// The portal (介護情報基盤ポータル) as the sandbox models it (shared/domain.md §2): e-claim
// authentication with KJ IDs (the temporary password refused, an optional security code, three
// failures lock the account for 30 minutes), one-time passwords by mail (two subjects, six digits,
// single use, 10 minutes), first-time registration once per office, the first user's details,
// the initial password by mail from no-reply@mail.kaigo-kiban-portal.jp, first login (initial
// password + OTP → new password twice + terms accepted, which counts only after the terms were
// fetched) to My page, and up to 5 added users.
//
// Answers are JSON objects or a BusinessError. State lives in its own SQLite file; mail goes
// through the Mailer. Thread-safe (one connection behind a mutex).
#ifndef KAIGO_SANDBOX_PORTAL_MODEL_H_
#define KAIGO_SANDBOX_PORTAL_MODEL_H_

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "sandbox/mailer.h"
#include "sandbox/platform_model.h"

namespace kaigo::sandbox {

class PortalModel {
 public:
  static constexpr int kMaxAddedUsers = 5;

  static absl::StatusOr<std::unique_ptr<PortalModel>> Open(const std::string& path, Mailer* mailer,
                                                           std::function<int64_t()> now);
  ~PortalModel();

  // Test control: every one-time password issued so far expires now.
  void ExpireOtps();

  // One call per portal request: `path` after /portal/v1/, `office` from the client certificate,
  // `session` from the X-Portal-Session header (added-user management only).
  nlohmann::json Handle(const std::string& method, const std::string& path,
                        const nlohmann::json& body, const std::string& office,
                        const std::string& session, std::optional<BusinessError>* error);

 private:
  PortalModel(sqlite3* db, Mailer* mailer, std::function<int64_t()> now)
      : db_(db), mailer_(mailer), now_(std::move(now)) {}
  absl::Status Seed();
  std::string IssueOtp(const std::string& address, const std::string& purpose);
  std::optional<BusinessError> CheckOtp(const std::string& address, const std::string& purpose,
                                        const std::string& code);
  std::optional<BusinessError> CheckUserDetails(const nlohmann::json& details);
  nlohmann::json CreateUser(const std::string& office, const nlohmann::json& details,
                            const std::string& created_by);

  nlohmann::json Eclaim(const nlohmann::json& body, const std::string& office,
                        std::optional<BusinessError>* error);
  nlohmann::json Registration(const std::string& id, const std::string& step,
                              const nlohmann::json& body, const std::string& office,
                              std::optional<BusinessError>* error);
  nlohmann::json Login(const nlohmann::json& body, const std::string& office,
                       std::optional<BusinessError>* error);
  nlohmann::json LoginStep(const std::string& method, const std::string& id,
                           const std::string& step, const nlohmann::json& body,
                           const std::string& office, std::optional<BusinessError>* error);
  nlohmann::json Users(const std::string& method, const nlohmann::json& body,
                       const std::string& office, const std::string& session,
                       std::optional<BusinessError>* error);

  sqlite3* db_;
  Mailer* mailer_;
  std::function<int64_t()> now_;
  std::mutex mu_;
};

}  // namespace kaigo::sandbox

#endif  // KAIGO_SANDBOX_PORTAL_MODEL_H_

// The portal's subsidy desk (助成金申請, マイページ →「各種申請」) as the sandbox models it:
// attachments uploaded one at a time (PDF, JPEG or PNG by content, ≤ 20 MiB), applications filed
// with a client reference (a repeated filing with the same reference is the same application),
// one application per office number, a returned one filed again only from the month after the
// first, and review outcomes taken from seeded data per office (see sandbox/README.md) and moved
// on by the test control (AdvanceSubsidy): submitted → under_review → approved → paid, or
// under_review → returned with reasons.
//
// State lives in its own SQLite file. Thread-safe (one connection behind a mutex). Dates are
// "YYYY-MM-DD" in Japan time.
#ifndef KAIGO_SANDBOX_SUBSIDY_DESK_H_
#define KAIGO_SANDBOX_SUBSIDY_DESK_H_

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "sandbox/platform_model.h"

namespace kaigo::sandbox {

class SubsidyDesk {
 public:
  static constexpr int64_t kMaxAttachmentBytes = 20 << 20;

  static absl::StatusOr<std::unique_ptr<SubsidyDesk>> Open(const std::string& path,
                                                           std::function<int64_t()> now);
  ~SubsidyDesk();

  // {attachment_id, sha256, size, type}
  nlohmann::json Upload(const Session& session, const std::string& kind,
                        const std::string& file_name, const std::string& content,
                        std::optional<BusinessError>* error);
  // {application_id, submitted_on, status}
  nlohmann::json File(const Session& session, const nlohmann::json& application,
                      std::optional<BusinessError>* error);
  // {applications: [{application_id, submitted_on, status}]}
  nlohmann::json List(const Session& session);
  // {application_id, status, submitted_on, granted, reasons, paid_on, resubmit_from, history}
  nlohmann::json Get(const Session& session, const std::string& id,
                     std::optional<BusinessError>* error);
  // Test control: the application's next status by its office's seeded outcome.
  absl::Status Advance(const std::string& id);

 private:
  SubsidyDesk(sqlite3* db, std::function<int64_t()> now) : db_(db), now_(std::move(now)) {}
  absl::Status Seed();
  std::string Today();
  void AddEvent(const std::string& id, const std::string& status, const std::string& note);

  sqlite3* db_;
  std::function<int64_t()> now_;
  std::mutex mu_;
};

}  // namespace kaigo::sandbox

#endif  // KAIGO_SANDBOX_SUBSIDY_DESK_H_

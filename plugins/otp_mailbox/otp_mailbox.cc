#include "otp_mailbox.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "imap_client.h"
#include "in_tree_manifest.h"
#include "kaigo/plugins/v1/otp_mailbox_config.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/pagination.h"
#include "kaigo/v1/otp.pb.h"
#include "mail_message.h"
#include "proxy_url.h"
#include "random_id.h"

namespace kaigo::plugins::otp_mailbox {

namespace {

namespace v1 = kaigo::v1;
using google::protobuf::util::TimeUtil;
using kaigo::plugins::v1::OtpMailboxConfig;

constexpr char kService[] = "/kaigo.v1.OtpService/";
constexpr int kMaxRefusals = 3;              // login refusals in a row before giving up
constexpr int kDefaultTimeoutSeconds = 600;  // a code lives 10 minutes
constexpr char kNotTyped[] =
    "this office reads its one-time passwords from its mailbox (otp_mailbox); no code is typed in";

const char* SubjectOf(v1::OtpPurpose purpose) {
  switch (purpose) {
    case v1::OTP_PURPOSE_ECLAIM_REGISTRATION:
      return "ワンタイムパスワード発行通知(介護保険資格確認等WEBサービス)";
    case v1::OTP_PURPOSE_PORTAL_LOGIN:
      return "【介護情報基盤ポータル】ワンタイムパスワード発行通知";
    default:
      return nullptr;
  }
}

// The subject with its whitespace and the full-width/half-width parentheses made alike, as mail
// clients and servers sometimes rewrite them.
std::string Normalized(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 3, "（") == 0) {
      out += '(';
      i += 2;
    } else if (s.compare(i, 3, "）") == 0) {
      out += ')';
      i += 2;
    } else if (s[i] != ' ' && s[i] != '\t') {
      out += s[i];
    }
  }
  return out;
}

// A pause between polls that a cancelled caller ends early.
class Wakeup {
 public:
  void Wake() {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
    changed_.notify_all();
  }
  void SleepFor(absl::Duration d) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, absl::ToChronoMilliseconds(d), [this] { return woken_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool woken_ = false;
};

class OtpMailbox : public sdk::Instance {
 public:
  OtpMailbox(sdk::HostServices host, OtpMailboxConfig config, std::unique_ptr<Mailbox> mailbox)
      : Instance(std::move(host)), config_(std::move(config)), imap_(std::move(mailbox)) {
    BlockingUnary<v1::RequestOtpRequest, v1::RequestOtpResponse>(
        Method("RequestOtp"), [this](const v1::RequestOtpRequest& req, const sdk::CallBase& call) {
          return Request(req, call);
        });
    Unary<v1::ListPendingRequest, v1::ListPendingResponse>(
        Method("ListPending"), [this](const v1::ListPendingRequest& req, auto call) {
          std::vector<v1::PendingOtp> all;
          {
            std::lock_guard<std::mutex> lock(mu_);
            for (const auto& [id, pending] : pending_) all.push_back(pending);
          }
          auto window = sdk::PageOf(req, all.size());
          if (!window.ok()) {
            call->Finish(window.status());
            return;
          }
          v1::ListPendingResponse response;
          for (size_t i = window->begin; i < window->end; ++i) *response.add_pending() = all[i];
          response.set_next_page_token(window->next_page_token);
          call->Finish(response);
        });
    Unary<v1::ProvideOtpRequest, v1::ProvideOtpResponse>(
        Method("ProvideOtp"), [](const v1::ProvideOtpRequest&, auto call) {
          call->Finish(absl::FailedPreconditionError(kNotTyped));
        });
    ServerStreaming<v1::WatchPendingRequest, v1::WatchPendingResponse>(
        Method("WatchPending"), [](const v1::WatchPendingRequest&, auto call) {
          call->Finish(absl::FailedPreconditionError(kNotTyped));
        });
  }

 private:
  static std::string Method(const char* name) { return std::string(kService) + name; }

  absl::StatusOr<v1::RequestOtpResponse> Request(const v1::RequestOtpRequest& req,
                                                 const sdk::CallBase& call) {
    const char* subject = SubjectOf(req.purpose());
    if (subject == nullptr) {
      return sdk::InvalidField("purpose", "OTP_PURPOSE", "must be one of the OtpPurpose values");
    }
    if (req.timeout().seconds() < 0) {
      return sdk::InvalidField("timeout", "RANGE", "0 or more");
    }
    int timeout = req.timeout().seconds() > 0
                      ? static_cast<int>(std::min<int64_t>(req.timeout().seconds(), 86400))
                  : config_.default_timeout_seconds() > 0 ? config_.default_timeout_seconds()
                                                          : kDefaultTimeoutSeconds;
    int most =
        config_.max_timeout_seconds() > 0 ? config_.max_timeout_seconds() : kDefaultTimeoutSeconds;
    timeout = std::min(timeout, most);
    // Mail dates and the pending list are on the host's clock; the wait is on the monotonic one,
    // and ends at the call's deadline (wall clock, as the caller set it) if that comes first.
    absl::Time now = host().Now();
    int64_t since = req.sent_after_time().seconds() > 0 ? req.sent_after_time().seconds()
                                                        : absl::ToUnixSeconds(now) - 120;
    absl::Duration wait = absl::Seconds(timeout);
    if (call.info().deadline_unix_ms > 0) {
      wait = std::min(wait, absl::FromUnixMillis(call.info().deadline_unix_ms) - absl::Now());
    }
    auto deadline = std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(wait);
    absl::Time imap_deadline = absl::Now() + wait;  // what an IMAP request may take at most
    auto woken = std::make_shared<Wakeup>();
    call.AddCancelObserver([woken] { woken->Wake(); });
    absl::Duration poll =
        absl::Milliseconds(config_.poll_interval_ms() > 0 ? config_.poll_interval_ms() : 2000);

    std::string id = RandomHex(12);
    {
      v1::PendingOtp pending;
      pending.set_otp_id(id);
      pending.set_purpose(req.purpose());
      pending.set_recipient_hint(req.recipient_hint());
      *pending.mutable_request_time() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(now));
      *pending.mutable_expire_time() =
          TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(now + absl::Seconds(timeout)));
      std::lock_guard<std::mutex> lock(mu_);
      pending_[id] = pending;
    }
    absl::Status last = absl::DeadlineExceededError(
        absl::StrCat("no mail '", subject, "' arrived within ", timeout, " s"));
    absl::StatusOr<std::string> code = last;
    int refused = 0;  // a server whose authentication is still starting refuses too
    Seen seen;        // mails already judged not to be this code's
    while (!call.IsCancelled()) {
      code = Look(subject, since, imap_deadline, &seen);
      refused = code.status().code() == absl::StatusCode::kUnauthenticated ? refused + 1 : 0;
      if (code.ok() || refused >= kMaxRefusals ||
          code.status().code() == absl::StatusCode::kInvalidArgument ||
          code.status().code() == absl::StatusCode::kResourceExhausted) {
        break;
      }
      if (std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(poll) > deadline) {
        if (code.status().code() == absl::StatusCode::kNotFound ||
            code.status().code() == absl::StatusCode::kDeadlineExceeded) {
          code = last;
        }
        break;
      }
      woken->SleepFor(poll);  // ends early when the caller cancels
    }
    if (!code.ok() && code.status().code() == absl::StatusCode::kDeadlineExceeded &&
        seen.oversized > 0) {
      code = absl::DeadlineExceededError(
          absl::StrCat(code.status().message(), "; ", seen.oversized, " mail(s) with that subject ",
                       "were larger than ", imap_->max_answer_bytes(),
                       " bytes (max_answer_bytes) and ", "were not read"));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.erase(id);
    }
    if (call.IsCancelled()) return absl::CancelledError("the requester cancelled");
    if (!code.ok()) return code.status();
    v1::RequestOtpResponse response;
    response.set_code(*code);
    response.set_otp_id(id);
    return response;
  }

  // The mails one wait has judged not to be its code's, and how many of them were too large to
  // read.
  struct Seen {
    std::set<uint32_t> passed_over;
    int oversized = 0;
  };

  // The code of the newest unused matching mail; NOT_FOUND when there is none yet. Mails judged
  // not to match go into `seen`, so later polls do not fetch them again; so does a matching mail
  // too large to read (counted, for the error if no code comes).
  absl::StatusOr<std::string> Look(const char* subject, int64_t since, absl::Time deadline,
                                   Seen* seen) {
    std::set<uint32_t>* passed_over = &seen->passed_over;
    absl::CivilDay day = absl::ToCivilDay(absl::FromUnixSeconds(since), absl::UTCTimeZone()) - 1;
    auto uids = imap_->UidsSince(day, deadline);
    if (!uids.ok()) return uids.status();
    for (auto it = uids->rbegin(); it != uids->rend(); ++it) {
      if (passed_over->count(*it)) continue;
      std::string key = absl::StrCat("used/", *it);
      if (host().StoreGet(key).ok()) {
        passed_over->insert(*it);
        continue;
      }
      auto head = imap_->Headers(*it, deadline);
      if (!head.ok()) return head.status();
      auto headers = ParseHeadersOnly(*head);
      if (Normalized(headers.subject) != Normalized(subject) || !headers.date ||
          *headers.date < since) {
        passed_over->insert(*it);
        continue;
      }
      auto raw = imap_->Message(*it, deadline);
      if (raw.status().code() == absl::StatusCode::kResourceExhausted) {
        passed_over->insert(*it);  // not an OTP mail: those are a few KiB
        ++seen->oversized;
        continue;
      }
      if (!raw.ok()) return raw.status();
      auto mail = ParseMail(*raw);
      auto code = mail.ok() ? ExtractOtp(mail->text) : absl::StatusOr<std::string>(mail.status());
      if (!code.ok()) {
        passed_over->insert(*it);
        continue;
      }
      // Taken by compare-and-set: of two requests (on any engine) that read this mail, one
      // gets its code; the other passes it over.
      auto taken = host().StorePutIf(key, "1", 0);
      if (absl::IsAborted(taken.status())) {
        passed_over->insert(*it);
        continue;
      }
      if (!taken.ok()) return taken.status();
      return code;
    }
    return absl::NotFoundError("no matching mail yet");
  }

  static MailMessage ParseHeadersOnly(const std::string& head) {
    auto parsed = ParseMail(head + "\r\n\r\n");
    if (parsed.ok()) return *parsed;
    MailMessage m;
    return m;
  }

  const OtpMailboxConfig config_;
  const std::unique_ptr<const Mailbox> imap_;
  std::mutex mu_;
  std::map<std::string, v1::PendingOtp> pending_;
};

}  // namespace

sdk::PluginDefinition Define() { return DefineWith(nullptr); }

sdk::PluginDefinition DefineWith(MailboxFactory open) {
  sdk::PluginManifest m = InTreeManifest("otp_mailbox");
  m.security_posture =
      "Reads the office mailbox over IMAPS with credentials from the office's secrets; takes "
      "only mail with the platform's subjects sent after the request; never logs codes or mail.";
  m.services = {"kaigo.v1.OtpService"};
  auto create = [open](sdk::HostServices host, const sdk::InstanceContext&,
                       OtpMailboxConfig config) -> absl::StatusOr<std::unique_ptr<sdk::Instance>> {
    if (config.mailbox_url().rfind("imaps://", 0) != 0) {
      return absl::InvalidArgumentError("mailbox_url: required, imaps://host:port/MAILBOX");
    }
    ImapOptions imap;
    imap.mailbox_url = config.mailbox_url();
    if (config.max_answer_bytes() > 0) imap.max_answer_bytes = config.max_answer_bytes();
    if (absl::Status proxy = platform::CheckProxyUrl("proxy", config.proxy()); !proxy.ok()) {
      return proxy;
    }
    imap.proxy = config.proxy();
    struct Secret {
      const std::string& name;
      const char* field;
      std::string* out;
      bool required;
    } secrets[] = {{config.username_secret(), "username_secret", &imap.username, true},
                   {config.password_secret(), "password_secret", &imap.password, true},
                   {config.ca_secret(), "ca_secret", &imap.ca_pem, false},
                   {config.proxy_credentials_secret(), "proxy_credentials_secret",
                    &imap.proxy_credentials, false}};
    for (const auto& s : secrets) {
      if (s.name.empty()) {
        if (s.required) return absl::InvalidArgumentError(std::string(s.field) + ": required");
        continue;
      }
      auto value = host.Secret(s.name);
      if (!value.ok()) {
        return absl::FailedPreconditionError(std::string(s.field) + ": the office has no secret '" +
                                             s.name + "'");
      }
      *s.out = *value;
      while (!s.out->empty() && (s.out->back() == '\n' || s.out->back() == '\r')) s.out->pop_back();
      if (s.out == &imap.ca_pem) *s.out += "\n";
    }
    std::unique_ptr<Mailbox> mailbox =
        open ? open(imap) : std::make_unique<ImapClient>(std::move(imap));
    return std::make_unique<OtpMailbox>(std::move(host), std::move(config), std::move(mailbox));
  };
  return sdk::DefinePlugin<OtpMailboxConfig>(std::move(m), std::move(create));
}

}  // namespace kaigo::plugins::otp_mailbox

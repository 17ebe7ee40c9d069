#include "certification.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <list>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "certification_answers.h"
#include "in_tree_manifest.h"
#include "kaigo/identifiers.h"
#include "kaigo/plugins/v1/platform_config.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/pagination.h"
#include "kaigo/sdk/response.h"
#include "platform_connection.h"
#include "platform_encoding.h"
#include "recipient_ref.h"

namespace kaigo::plugins::certification {

namespace {

namespace v1 = kaigo::v1;
using kaigo::plugins::v1::CertificationConfig;
using Stream = sdk::ServerStream<v1::WatchProgressResponse>;

absl::StatusOr<std::string> RecipientQuery(const v1::RecipientKey& r) {
  if (auto s = ValidateInsurerNumber(r.insurer().value()); !s.ok()) {
    return sdk::ForField(s, "recipient.insurer.value", "INSURER_NUMBER");
  }
  if (auto s = ValidateInsuredNumber(r.insured().value()); !s.ok()) {
    return sdk::ForField(s, "recipient.insured.value", "INSURED_NUMBER");
  }
  return "?insurer_number=" + r.insurer().value() + "&insured_number=" + r.insured().value();
}

class Certification : public sdk::Instance {
 public:
  Certification(sdk::HostServices host, CertificationConfig config,
                platform::PlatformAccounts accounts)
      : Instance(std::move(host)), config_(std::move(config)), accounts_(std::move(accounts)) {
    int concurrent = config_.platform().max_concurrent_calls();
    SetMaxWorkers(concurrent > 0 ? concurrent : 16);
    BlockingUnary<v1::GetProgressRequest, v1::GetProgressResponse>(
        "/kaigo.v1.CertificationService/GetProgress",
        [this](const v1::GetProgressRequest& req, const sdk::CallBase& call) {
          return sdk::AnswerIn(Audited(call, "GetProgress", req.recipient(),
                                       Progress(Platform(call), req.recipient())),
                               &v1::GetProgressResponse::mutable_progress);
        });
    BlockingUnary<v1::GetResultRequest, v1::GetResultResponse>(
        "/kaigo.v1.CertificationService/GetResult",
        [this](const v1::GetResultRequest& req, const sdk::CallBase& call) {
          return sdk::AnswerIn(
              Audited(call, "GetResult", req.recipient(), Result(Platform(call), req.recipient())),
              &v1::GetResultResponse::mutable_result);
        });
    BlockingUnary<v1::ListDocumentsRequest, v1::ListDocumentsResponse>(
        "/kaigo.v1.CertificationService/ListDocuments",
        [this](const v1::ListDocumentsRequest& req, const sdk::CallBase& call) {
          return Audited(call, "ListDocuments", req.recipient(), Documents(Platform(call), req));
        });
    ServerStreaming<v1::FetchDocumentRequest, v1::FetchDocumentResponse>(
        "/kaigo.v1.CertificationService/FetchDocument",
        [this](const v1::FetchDocumentRequest& req,
               std::shared_ptr<sdk::ServerStream<v1::FetchDocumentResponse>> call) {
          Workers().Submit([this, req, call] { Fetch(req, *call); });
        });
    ServerStreaming<v1::WatchProgressRequest, v1::WatchProgressResponse>(
        "/kaigo.v1.CertificationService/WatchProgress",
        [this](const v1::WatchProgressRequest& req, std::shared_ptr<Stream> call) {
          Watch(req, call);
        });
  }

  ~Certification() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (poller_.joinable()) poller_.join();
  }

 private:
  // The office's web-service user for the call's role: the platform shows 認定情報 only to a
  // care manager's login.
  platform::CallClient Platform(const sdk::CallBase& call) const {
    return accounts_.ClientFor(call);
  }

  // Writes the audit record every answer about a recipient gets (never the recipient's values);
  // an answer whose record cannot be written is not given (HostServices::Disclose).
  template <class T>
  absl::StatusOr<T> Audited(const sdk::CallBase& call, const char* action,
                            const v1::RecipientKey& r, absl::StatusOr<T> result) {
    if (result.status().code() != absl::StatusCode::kInvalidArgument) {
      return host().Disclose(&call, std::string("/kaigo.v1.CertificationService/") + action,
                             refs_.Of(r.insurer().value(), r.insured().value()), std::move(result));
    }
    return result;
  }

  absl::StatusOr<v1::CertificationProgress> Progress(const platform::CallClient& client,
                                                     const v1::RecipientKey& r) {
    auto query = RecipientQuery(r);
    if (!query.ok()) return query.status();
    auto response = client.Get("/api/v1/certification/progress" + *query);
    if (!response.ok()) return response.status();
    return ParseProgress(response->body);
  }

  absl::StatusOr<v1::CertificationResult> Result(const platform::CallClient& client,
                                                 const v1::RecipientKey& r) {
    auto progress = Progress(client, r);
    if (!progress.ok()) return progress.status();
    if (progress->status() != v1::CERTIFICATION_STATUS_CERTIFIED) {
      return absl::FailedPreconditionError("the certification is still in progress (" +
                                           v1::CertificationStatus_Name(progress->status()) +
                                           "); no result yet");
    }
    v1::CertificationResult result;
    result.set_care_level(progress->result());
    *result.mutable_decision_date() = progress->update_date();
    return result;
  }

  // Every document of the recipient: the platform lists them (a handful) in one answer.
  absl::StatusOr<v1::ListDocumentsResponse> AllDocuments(const platform::CallClient& client,
                                                         const v1::RecipientKey& r) {
    auto query = RecipientQuery(r);
    if (!query.ok()) return query.status();
    auto response = client.Get("/api/v1/certification/documents" + *query);
    if (!response.ok()) return response.status();
    return ParseDocuments(response->body);
  }

  absl::StatusOr<v1::ListDocumentsResponse> Documents(const platform::CallClient& client,
                                                      const v1::ListDocumentsRequest& req) {
    auto all = AllDocuments(client, req.recipient());
    if (!all.ok()) return all.status();
    // Pages are cut here, in the platform's order.
    auto window = sdk::PageOf(req, all->documents_size());
    if (!window.ok()) return window.status();
    v1::ListDocumentsResponse page;
    for (size_t i = window->begin; i < window->end; ++i) {
      *page.add_documents() = all->documents(static_cast<int>(i));
    }
    page.set_next_page_token(window->next_page_token);
    return page;
  }

  // The document's record is written before its first byte is sent (Send); a failure before that
  // is recorded here. Fail closed: a document whose record cannot be written is not sent.
  void Fetch(const v1::FetchDocumentRequest& req,
             sdk::ServerStream<v1::FetchDocumentResponse>& call) {
    bool recorded = false;
    absl::Status status = Send(req, call, &recorded);
    if (!recorded) {
      Audited<bool>(call, "FetchDocument", req.recipient(), absl::StatusOr<bool>(status))
          .IgnoreError();
    }
    call.Finish(status);
  }

  absl::Status Send(const v1::FetchDocumentRequest& req,
                    sdk::ServerStream<v1::FetchDocumentResponse>& call, bool* recorded) {
    const std::string& id = req.document_id();
    bool id_ok = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
      return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-';
    });
    if (!id_ok) {
      return sdk::InvalidField("document_id", "DOCUMENT_ID", "letters, digits and -, 1 to 64");
    }
    // The document must be one of this recipient's, so the audit record names the right person.
    platform::CallClient client = Platform(call);
    auto documents = AllDocuments(client, req.recipient());
    if (!documents.ok()) return documents.status();
    bool listed = std::any_of(documents->documents().begin(), documents->documents().end(),
                              [&](const v1::DocumentInfo& d) { return d.document_id() == id; });
    if (!listed)
      return absl::NotFoundError("document_id: no document " + id + " for this recipient");
    auto response = client.Get("/api/v1/certification/documents/" + id);
    if (!response.ok()) return response.status();
    const std::string& pdf = response->body;
    auto audited = Audited(call, "FetchDocument", req.recipient(), absl::StatusOr<bool>(true));
    *recorded = true;
    if (!audited.ok()) return audited.status();
    size_t chunk = config_.chunk_bytes() > 0 ? static_cast<size_t>(config_.chunk_bytes()) : 65536;
    size_t offset = 0;
    do {
      v1::FetchDocumentResponse message;
      v1::DocumentChunk* piece = message.mutable_chunk();
      piece->set_offset(static_cast<int64_t>(offset));
      piece->set_data(pdf.substr(offset, chunk));
      offset += piece->data().size();
      if (offset >= pdf.size()) piece->set_sha256(platform::Sha256Hex(pdf));
      if (!call.Write(message)) return absl::CancelledError("the caller went away");
    } while (offset < pdf.size());
    return absl::OkStatus();
  }

  struct Watcher {
    v1::RecipientKey recipient;
    std::shared_ptr<Stream> call;
    platform::CallClient client;                      // the watching call's user
    std::string last;                                 // serialized progress last sent
    std::chrono::steady_clock::time_point next_poll;  // an interval: monotonic
  };

  void Watch(const v1::WatchProgressRequest& req, std::shared_ptr<Stream> call) {
    if (auto query = RecipientQuery(req.recipient()); !query.ok()) {
      call->Finish(query.status());
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      watchers_.push_back(
          Watcher{req.recipient(), call, Platform(*call), "", std::chrono::steady_clock::now()});
      if (!poller_.joinable()) poller_ = std::thread([this] { Poll(); });
    }
    wake_.notify_all();
    call->OnCancel([this, raw = call.get()] {
      std::shared_ptr<Stream> gone;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto it = watchers_.begin(); it != watchers_.end(); ++it) {
          if (it->call.get() == raw) {
            gone = it->call;
            watchers_.erase(it);
            break;
          }
        }
      }
      if (gone) gone->Finish(absl::CancelledError("the watcher cancelled"));
    });
  }

  // One thread per instance with watchers asks the platform for each one when it is due and
  // pushes what changed.
  void Poll() {
    std::chrono::seconds interval(
        config_.poll_interval_seconds() > 0 ? config_.poll_interval_seconds() : 60);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      auto now = std::chrono::steady_clock::now();
      std::vector<Watcher> due;
      for (auto& w : watchers_) {
        if (w.next_poll <= now) {
          w.next_poll = now + interval;
          due.push_back(w);
        }
      }
      lock.unlock();
      for (auto& w : due) {
        auto progress = Progress(w.client, w.recipient);
        if (!progress.ok()) {
          if (progress.status().code() != absl::StatusCode::kUnavailable)
            End(w.call, progress.status());
          continue;  // UNAVAILABLE: try again at the next poll
        }
        std::string serialized = progress->SerializeAsString();
        if (serialized == w.last) continue;
        // Each push discloses: recorded first, and a push that cannot be recorded ends the watch.
        auto audited = Audited(*w.call, "WatchProgress", w.recipient,
                               absl::StatusOr<v1::CertificationProgress>(*std::move(progress)));
        if (!audited.ok()) {
          End(w.call, audited.status());
          continue;
        }
        v1::WatchProgressResponse change;
        *change.mutable_progress() = *std::move(audited);
        if (Remember(w.call.get(), serialized)) w.call->Write(change);
      }
      lock.lock();
      wake_.wait_for(lock, std::chrono::milliseconds(200));
    }
  }

  // Records what a watcher was sent; false if it has gone meanwhile.
  bool Remember(Stream* call, const std::string& serialized) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& w : watchers_) {
      if (w.call.get() == call) {
        w.last = serialized;
        return true;
      }
    }
    return false;
  }

  void End(const std::shared_ptr<Stream>& call, const absl::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      watchers_.remove_if([&](const Watcher& w) { return w.call == call; });
    }
    call->Finish(status);
  }

  const CertificationConfig config_;
  const platform::PlatformAccounts accounts_;
  RecipientRefs refs_{host()};
  std::mutex mu_;
  std::condition_variable wake_;
  std::list<Watcher> watchers_;
  std::thread poller_;
  bool stopping_ = false;
};

}  // namespace

sdk::PluginDefinition Define() { return DefineWith(nullptr); }

sdk::PluginDefinition DefineWith(platform::ClientFactory make_client) {
  sdk::PluginManifest m = InTreeManifest("certification");
  m.security_posture =
      "Calls the platform's web API over TLS 1.3 with the office's client certificate; 認定情報 "
      "only as the platform allows; audits every answer with a keyed recipient reference.";
  m.services = {"kaigo.v1.CertificationService"};
  auto create = [make_client](
                    sdk::HostServices host, const sdk::InstanceContext&,
                    CertificationConfig config) -> absl::StatusOr<std::unique_ptr<sdk::Instance>> {
    if (config.poll_interval_seconds() < 0 || config.chunk_bytes() < 0) {
      return absl::InvalidArgumentError("poll_interval_seconds and chunk_bytes: must be 0 or more");
    }
    auto accounts = platform::PlatformAccounts::Connect(config.platform(), host,
                                                        /*needs_web_user=*/true, make_client);
    if (!accounts.ok()) return accounts.status();
    return std::make_unique<Certification>(std::move(host), std::move(config),
                                           *std::move(accounts));
  };
  return sdk::DefinePlugin<CertificationConfig>(std::move(m), std::move(create));
}

}  // namespace kaigo::plugins::certification

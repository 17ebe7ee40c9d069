#include "engine/server/health_service.h"

#include <utility>

#include "engine/server/raw_message.h"

namespace kaigo::engine {

namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

grpc::ByteBuffer Serialize(HealthBoard::Status status) {
  HealthCheckResponse response;
  response.set_status(status);
  return SerializeRaw(response);
}

// One Watch stream: writes the name's status whenever it differs from the last one written,
// the latest only (a status nobody read yet is replaced, not queued).
class WatchReactor : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                     public HealthBoard::Watcher {
 public:
  WatchReactor(HealthBoard* board, const std::string& service) : board_(board) {
    board_->Watch(service, this);  // OnStatus at once, with the current status
  }

  void OnStatus(HealthBoard::Status status, bool final) override {
    std::lock_guard<std::mutex> lock(mu_);
    latest_ = status;
    final_ = final;
    PumpLocked();
  }
  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status::CANCELLED);  // the client has gone
      return;
    }
    PumpLocked();
  }
  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (!writing_) FinishLocked(grpc::Status::CANCELLED);  // else when the write ends
  }
  void OnDone() override {
    board_->Unwatch(this);  // no OnStatus after this returns
    delete this;
  }

 private:
  void PumpLocked() {
    if (writing_ || finished_) return;
    if (cancelled_) return FinishLocked(grpc::Status::CANCELLED);
    if (latest_ != written_) {
      written_ = latest_;
      buffer_ = Serialize(latest_);
      writing_ = true;
      StartWrite(&buffer_);
      return;
    }
    if (final_) FinishLocked(grpc::Status::OK);
  }
  void FinishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  HealthBoard* board_;
  std::mutex mu_;
  HealthBoard::Status latest_ = HealthBoard::kUnknown;
  int written_ = -1;  // none yet
  bool final_ = false;
  bool writing_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
  grpc::ByteBuffer buffer_;
};

}  // namespace

HealthBoard::HealthBoard() { statuses_[""] = kNotServing; }

void HealthBoard::Set(const std::string& service, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return;
  statuses_[service] = status;
  auto [first, last] = watchers_.equal_range(service);
  for (auto it = first; it != last; ++it) it->second->OnStatus(status, false);
}

void HealthBoard::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shut_down_ = true;
  for (auto& [name, status] : statuses_) status = kNotServing;
  for (auto& [name, watcher] : watchers_) watcher->OnStatus(kNotServing, true);
}

HealthBoard::Status HealthBoard::Get(const std::string& service) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = statuses_.find(service);
  return it == statuses_.end() ? kUnknown : it->second;
}

void HealthBoard::Watch(const std::string& service, Watcher* watcher) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.emplace(service, watcher);
  auto it = statuses_.find(service);
  if (shut_down_) {
    watcher->OnStatus(kNotServing, true);
  } else {
    watcher->OnStatus(it == statuses_.end() ? kUnknown : it->second, false);
  }
}

void HealthBoard::Unwatch(Watcher* watcher) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = watchers_.begin(); it != watchers_.end(); ++it) {
    if (it->second == watcher) {
      watchers_.erase(it);
      return;
    }
  }
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  HealthCheckRequest parsed;
  if (!ParseRawRequest(request, &parsed)) {
    reactor->Finish(NotARequest(parsed));
    return reactor;
  }
  HealthBoard::Status status = board_->Get(parsed.service());
  if (status == HealthBoard::kUnknown) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "service: no such service"));
    return reactor;
  }
  *response = Serialize(status);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* HealthService::Watch(grpc::CallbackServerContext*,
                                                                 const grpc::ByteBuffer* request) {
  HealthCheckRequest parsed;
  if (!ParseRawRequest(request, &parsed)) {
    // A reactor that only finishes.
    class Refusal : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
     public:
      explicit Refusal(const grpc::Status& status) { Finish(status); }
      void OnDone() override { delete this; }
    };
    return new Refusal(NotARequest(parsed));
  }
  return new WatchReactor(board_, parsed.service());
}

}  // namespace kaigo::engine

#include "engine/server/store_readiness.h"

namespace kaigo::engine {

void StoreReadiness::Start() {
  Check();
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (
        !wake_.wait_for(lock, absl::ToChronoNanoseconds(interval_), [this] { return stopping_; })) {
      lock.unlock();
      Check();
      lock.lock();
    }
  });
}

void StoreReadiness::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StoreReadiness::Check() {
  absl::Status s = store_->Ping();
  board_->Set(kReadinessService, s.ok() ? HealthBoard::kServing : HealthBoard::kNotServing);
  if (s.ok() != reachable_) {
    reachable_ = s.ok();
    if (s.ok()) {
      logger_->Info("the store answers again: ready", {{"health", kReadinessService}});
    } else {
      logger_->Warn("the store does not answer: not ready",
                    {{"health", kReadinessService}, {"error", std::string(s.message())}});
    }
  }
}

}  // namespace kaigo::engine

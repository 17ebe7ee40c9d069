#include "kaigo/sdk/worker_pool.h"

#include <thread>

namespace kaigo::sdk {

WorkerPool::WorkerPool(int max_threads, std::chrono::milliseconds idle_timeout, size_t max_queued)
    : max_threads_(max_threads < 1 ? 1 : max_threads),
      idle_timeout_(idle_timeout),
      max_queued_(max_queued) {}

WorkerPool::~WorkerPool() {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  wake_.notify_all();
  ended_.wait(lock, [this] { return threads_ == 0; });
}

bool WorkerPool::Submit(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (tasks_.size() >= max_queued_) return false;
  tasks_.push_back(std::move(task));
  if (idle_ > 0) {
    wake_.notify_one();
  } else if (threads_ < max_threads_) {
    ++threads_;
    // Detached: the destructor waits for the count instead of joining.
    std::thread([this] { Run(); }).detach();
  }
  return true;
}

void WorkerPool::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (tasks_.empty()) {
      if (stopping_) break;
      ++idle_;
      bool woke =
          wake_.wait_for(lock, idle_timeout_, [this] { return stopping_ || !tasks_.empty(); });
      --idle_;
      if (!woke) break;  // idle too long
      continue;
    }
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    try {
      task();
    } catch (...) {
      // A task's own call is finished by its guard (Instance::RunGuarded); an exception from a
      // task without one must still not end the process.
    }
    lock.lock();
  }
  --threads_;
  ended_.notify_all();  // under the lock: the pool may be destroyed once it is released
}

}  // namespace kaigo::sdk

// Threads that run blocking work off the host's RPC threads. The pool starts empty, adds a thread
// when work arrives and none is idle (up to `max_threads`), and lets a thread end after
// `idle_timeout` without work — so thousands of quiet instances cost no threads, and a busy one
// can wait on as many slow upstream calls at once as it is allowed.
// At most `max_queued` tasks wait for a thread; Submit refuses more, so a flood of calls costs
// refusals, not memory.
// Thread-safe. The destructor runs what is queued, then waits for every thread to end.
#ifndef KAIGO_SDK_WORKER_POOL_H_
#define KAIGO_SDK_WORKER_POOL_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace kaigo::sdk {

class WorkerPool {
 public:
  explicit WorkerPool(int max_threads,
                      std::chrono::milliseconds idle_timeout = std::chrono::seconds(30),
                      size_t max_queued = 4096);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when `max_queued` tasks are already waiting (the task is dropped).
  bool Submit(std::function<void()> task);

 private:
  void Run();
  const int max_threads_;
  const std::chrono::milliseconds idle_timeout_;
  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable ended_;
  std::deque<std::function<void()>> tasks_;
  int threads_ = 0;
  int idle_ = 0;
  bool stopping_ = false;
};

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_WORKER_POOL_H_

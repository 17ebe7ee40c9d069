// A fixed pool of threads that runs blocking work off the host's RPC threads.
// Thread-safe. The destructor runs what is queued, then joins.
#ifndef KAIGO_SDK_WORKER_POOL_H_
#define KAIGO_SDK_WORKER_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kaigo::sdk {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> task);

 private:
  void Run();
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_WORKER_POOL_H_

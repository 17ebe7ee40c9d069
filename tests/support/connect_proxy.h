// An HTTP proxy for tests: CONNECT tunnels only, on 127.0.0.1, as an office's proxy would carry the
// platform's HTTPS and the mailbox's IMAPS. Optionally requires Basic credentials (407 without).
// Thread-safe; the destructor closes every tunnel.
#ifndef KAIGO_TESTS_SUPPORT_CONNECT_PROXY_H_
#define KAIGO_TESTS_SUPPORT_CONNECT_PROXY_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace kaigo::testing {

class ConnectProxy {
 public:
  // `credentials`: "user:password" the client must present, or "" for none.
  static absl::StatusOr<std::unique_ptr<ConnectProxy>> Start(std::string credentials = "");
  ~ConnectProxy();

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // "host:port" of every tunnel opened, in order.
  std::vector<std::string> tunnels() const;
  // Requests refused for missing or wrong credentials.
  int refused() const { return refused_.load(); }

 private:
  ConnectProxy() = default;
  void Accept();
  void Serve(int client);

  std::string credentials_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> refused_{0};
  mutable std::mutex mu_;
  std::vector<std::string> tunnels_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_CONNECT_PROXY_H_

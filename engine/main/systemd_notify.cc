#include "engine/main/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace kaigo::engine {

SystemdNotifier::SystemdNotifier() {
  if (const char* path = getenv("NOTIFY_SOCKET")) socket_ = path;
  const char* usec = getenv("WATCHDOG_USEC");
  const char* pid = getenv("WATCHDOG_PID");
  // WATCHDOG_PID, when set, names the process the watchdog watches; another one's is not ours.
  bool ours = pid == nullptr || strtol(pid, nullptr, 10) == getpid();
  if (usec != nullptr && ours) {
    long long micros = strtoll(usec, nullptr, 10);
    if (micros > 0) alive_interval_ = std::chrono::microseconds(micros / 2);
  }
}

bool SystemdNotifier::Send(std::string_view state) {
  if (socket_.empty()) return true;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_.size() >= sizeof address.sun_path) return false;
  memcpy(address.sun_path, socket_.data(), socket_.size());
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                        reinterpret_cast<sockaddr*>(&address), length);
  close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

}  // namespace kaigo::engine

// The service manager's notification protocol (sd_notify(3)), spoken without libsystemd: one
// datagram per state to the socket NOTIFY_SOCKET names. A unit of Type=notify learns that the
// engine is ready (READY=1, once it listens), reloading or stopping, and that it is alive
// (WATCHDOG=1, every half of WatchdogSec). Without NOTIFY_SOCKET every call does nothing.
// Thread-compatible: one owner (the serve loop).
#ifndef KAIGO_ENGINE_MAIN_SYSTEMD_NOTIFY_H_
#define KAIGO_ENGINE_MAIN_SYSTEMD_NOTIFY_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kaigo::engine {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment.
  SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // Each sends one state; false when there is a socket and the datagram was not taken.
  bool Ready() { return Send("READY=1\nSTATUS=serving"); }
  bool Reloading() { return Send("RELOADING=1\nSTATUS=reloading the configuration"); }
  bool Stopping() { return Send("STOPPING=1\nSTATUS=draining calls"); }
  bool Alive() { return Send("WATCHDOG=1"); }
  // How often Alive() must be sent (half of the manager's watchdog timeout); none without one.
  std::optional<std::chrono::microseconds> alive_interval() const { return alive_interval_; }

 private:
  bool Send(std::string_view state);
  std::string socket_;  // "" without a manager; "@…" is an abstract socket
  std::optional<std::chrono::microseconds> alive_interval_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_MAIN_SYSTEMD_NOTIFY_H_

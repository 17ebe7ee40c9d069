#include "tests/support/pcsc_stack.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace kaigo::testing {

namespace {

constexpr char kRunDir[] = "/run/pcscd";
constexpr int kFirstPort = 35963;

bool Alive(pid_t pid) { return pid > 0 && kill(pid, 0) == 0; }

}  // namespace

absl::StatusOr<std::unique_ptr<PcscDaemon>> PcscDaemon::Start() {
  std::string pid_file = std::string(kRunDir) + "/pcscd.pid";
  std::string old = ReadFile(pid_file);
  if (!old.empty() && Alive(std::atoi(old.c_str()))) {
    return absl::FailedPreconditionError("another pcscd (pid " + old + ") is running");
  }
  std::filesystem::remove(std::string(kRunDir) + "/pcscd.comm");
  std::filesystem::remove(pid_file);
  std::unique_ptr<PcscDaemon> d(new PcscDaemon());
  d->dir_ = std::make_unique<TempDir>();
  d->dir_->Write(
      "conf/kaigo-test-reader",
      absl::StrCat("FRIENDLYNAME \"", kReaderPrefix, "\"\nDEVICENAME /dev/null:", kFirstPort,
                   "\nLIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n"));
  std::string script =
      // --info: reader and card events in the log, which a failing test prints (no APDUs: -a).
      "ip link set lo up && exec /usr/sbin/pcscd --foreground --info -c " + d->dir_->path() +
      "/conf";
  std::string content;
  auto started = StartChild({"/usr/bin/unshare", "--net", "--", "/bin/sh", "-c", script}, pid_file,
                            d->dir_->path() + "/pcscd.log", std::regex("^[0-9]+"),
                            absl::Seconds(10), &d->pid_, &content);
  if (!started.ok()) return started.status();
  // The socket appears just after the pid file.
  for (int i = 0; i < 200 && !std::filesystem::exists(std::string(kRunDir) + "/pcscd.comm"); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  return d;
}

PcscDaemon::~PcscDaemon() {
  for (pid_t& card : cards_) StopChild(&card);
  StopChild(&pid_);
}

std::string PcscDaemon::Reader(int slot) { return absl::StrCat(kReaderPrefix, " 00 0", slot); }

absl::StatusOr<pid_t> PcscDaemon::Insert(int slot, const std::string& jpki_dir,
                                         const std::string& cn,
                                         const std::vector<std::string>& args) {
  if (!Alive(pid_)) {
    return absl::FailedPreconditionError("pcscd (pid " + std::to_string(pid_) +
                                         ") has exited; its log:\n" + PcscdLog());
  }
  std::string log = absl::StrCat(dir_->path(), "/card-", next_log_++, ".log");
  std::vector<std::string> argv = {"/usr/bin/nsenter",
                                   absl::StrCat("--net=/proc/", pid_, "/ns/net"),
                                   "--",
                                   BuildDir() + "/tests/virtual_card/kaigo-virtual-card",
                                   "--port",
                                   std::to_string(kFirstPort + slot),
                                   "--dir",
                                   jpki_dir,
                                   "--cn",
                                   cn};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = -1;
  std::string content;
  auto started =
      StartChild(argv, log, log, std::regex("inserted on port"), absl::Seconds(10), &pid, &content);
  if (!started.ok()) {
    return absl::Status(
        started.status().code(),
        absl::StrCat(started.status().message(), "\npcscd (pid ", pid_,
                     Alive(pid_) ? ", alive" : ", exited", "), the end of its log:\n", PcscdLog()));
  }
  cards_.push_back(pid);
  return pid;
}

void PcscDaemon::Remove(pid_t* card) {
  for (pid_t& c : cards_) {
    if (c == *card) c = -1;
  }
  StopChild(card);
}

std::string PcscDaemon::PcscdLog(size_t max_bytes) const {
  std::string log = ReadFile(dir_->path() + "/pcscd.log");
  return log.size() > max_bytes ? "…" + log.substr(log.size() - max_bytes) : log;
}

std::string PcscDaemon::Logs() const {
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(dir_->path())) {
    if (entry.path().extension() == ".log") all += ReadFile(entry.path().string());
  }
  return all;
}

}  // namespace kaigo::testing

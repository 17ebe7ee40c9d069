// A real pcscd with the vpcd reader driver and virtual My Number cards, for tests and benchmarks
// (shared/reference/mynumber-card-pcsc.md B2–B8).
//
// pcscd runs in a network namespace of its own: vpcd listens on every interface (B6 P3), and there
// nothing outside the test can reach it. Clients still find it through /run/pcscd/pcscd.comm (a
// path, not the network). Its readers come from a configuration of our own, two slots named
// "Kaigo Test Reader 00 00" and "… 00 01". The APDU log stays off, so no PIN is written anywhere
// (B6 P11). One pcscd per machine (B6 P4): ctest runs the tests using it one at a time
// (RESOURCE_LOCK pcscd). Everything is stopped by process id.
#ifndef KAIGO_TESTS_SUPPORT_PCSC_STACK_H_
#define KAIGO_TESTS_SUPPORT_PCSC_STACK_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {

class PcscDaemon {
 public:
  static constexpr char kReaderPrefix[] = "Kaigo Test Reader";

  // FAILED_PRECONDITION when another pcscd is alive; stale files of a dead one are removed.
  static absl::StatusOr<std::unique_ptr<PcscDaemon>> Start();
  ~PcscDaemon();

  // Starts a virtual card (kaigo-virtual-card) in `slot` (0 or 1) with the test JPKI in
  // `jpki_dir` for certificate `cn`; `args` are more of its flags (--pin, --die-after-apdus, …).
  absl::StatusOr<pid_t> Insert(int slot, const std::string& jpki_dir, const std::string& cn,
                               const std::vector<std::string>& args = {});
  // Stops the card: it leaves the reader.
  void Remove(pid_t* card);

  static std::string Reader(int slot);
  // pcscd's log and every card's log, for tests that search them.
  std::string Logs() const;
  // The end of pcscd's log, for a failure message.
  std::string PcscdLog(size_t max_bytes = 6000) const;

 private:
  PcscDaemon() = default;
  std::unique_ptr<TempDir> dir_;
  pid_t pid_ = -1;
  std::vector<pid_t> cards_;
  int next_log_ = 0;
};

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_PCSC_STACK_H_

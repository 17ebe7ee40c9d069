// A real IMAP server for tests: Debian's dovecot, in the foreground, IMAPS only on a free
// loopback port, serving the sandbox's Maildirs (DIR/mail/<address>) to any address with one
// password, with the sandbox's server certificate. Stopped by process id.
#ifndef KAIGO_TESTS_SUPPORT_IMAP_SERVER_H_
#define KAIGO_TESTS_SUPPORT_IMAP_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {

class ImapServer {
 public:
  static constexpr char kPassword[] = "mail-test-password";

  // `certificates` holds server.crt/server.key (the sandbox's); mail is read from `maildir_root`.
  static absl::StatusOr<std::unique_ptr<ImapServer>> Start(const std::string& maildir_root,
                                                           const std::string& certificates);
  ~ImapServer();
  int port() const { return port_; }
  std::string Log() const;

 private:
  ImapServer() = default;
  std::unique_ptr<TempDir> dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_IMAP_SERVER_H_

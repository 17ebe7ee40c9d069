// A real IMAP server for tests: Debian's dovecot, in the foreground, IMAPS only on a free
// loopback port, serving the sandbox's Maildirs (DIR/mail/<address>) to any address with one
// password, with the sandbox's server certificate. Stopped by process id.
#ifndef KAIGO_TESTS_SUPPORT_IMAP_SERVER_H_
#define KAIGO_TESTS_SUPPORT_IMAP_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

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

// An office's otp_mailbox binding that reads `address`'s mail from `server` (null: a port that
// serves nothing) every 200 ms, with `more_settings`. Its secrets (mail_user, mail_password,
// mail_ca: the sandbox's CA) are written into `dir` and appended to `secrets`.
PlatformBinding MailboxBinding(const ImapServer* server, const SandboxProcess& sandbox,
                               const TempDir& dir, const std::string& address,
                               std::vector<std::pair<std::string, std::string>>* secrets,
                               const std::vector<std::string>& more_settings = {});

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_IMAP_SERVER_H_

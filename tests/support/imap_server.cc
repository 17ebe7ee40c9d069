#include "tests/support/imap_server.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace kaigo::testing {

namespace {

bool Listening(int port) {
  int fd = ConnectLoopback(port);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ImapServer>> ImapServer::Start(const std::string& maildir_root,
                                                              const std::string& certificates) {
  std::unique_ptr<ImapServer> s(new ImapServer());
  s->dir_ = std::make_unique<TempDir>();
  const std::string& d = s->dir_->path();
  std::filesystem::create_directories(d + "/run");
  std::filesystem::create_directories(d + "/state");
  std::filesystem::create_directories(maildir_root);
  std::filesystem::permissions(maildir_root, std::filesystem::perms::all);
  // dovecot reads the mail as an unprivileged user: the test's private directories above the
  // Maildirs must let it pass (traverse only, no listing).
  for (auto p = std::filesystem::path(maildir_root).parent_path();
       p.has_relative_path() && p != "/tmp"; p = p.parent_path()) {
    std::filesystem::permissions(p, std::filesystem::perms::others_exec,
                                 std::filesystem::perm_options::add);
  }
  s->port_ = FreeLoopbackPort();  // dovecot needs a number in its configuration
  std::string config = absl::StrCat(
      "base_dir = ", d, "/run\nstate_dir = ", d, "/state\nlog_path = ", d,
      "/dovecot.log\nprotocols = imap\nlisten = 127.0.0.1\nssl = required\n"
      "ssl_cert = <",
      certificates, "/server.crt\nssl_key = <", certificates,
      "/server.key\nssl_min_protocol = TLSv1.2\nauth_mechanisms = plain\n"
      "mail_location = maildir:",
      maildir_root,
      "/%u:INDEX=MEMORY\nfirst_valid_uid = 65534\n"
      "passdb {\n  driver = static\n  args = password=",
      kPassword,
      "\n}\nuserdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=", maildir_root,
      "/%u\n}\nservice imap-login {\n  inet_listener imap {\n    port = 0\n  }\n"
      "  inet_listener imaps {\n    port = ",
      s->port_, "\n  }\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n");
  std::string conf = s->dir_->Write("dovecot.conf", config);
  s->pid_ = Spawn({"/usr/sbin/dovecot", "-F", "-c", conf}, d + "/stderr.log");
  for (int i = 0; i < 200 && !Listening(s->port_); ++i) absl::SleepFor(absl::Milliseconds(25));
  if (!Listening(s->port_)) {
    return absl::UnavailableError("dovecot did not listen:\n" + ReadFile(d + "/stderr.log") +
                                  ReadFile(d + "/dovecot.log"));
  }
  return s;
}

ImapServer::~ImapServer() { StopChild(&pid_); }

std::string ImapServer::Log() const { return ReadFile(dir_->path() + "/dovecot.log"); }

PlatformBinding MailboxBinding(const ImapServer* server, const SandboxProcess& sandbox,
                               const TempDir& dir, const std::string& address,
                               std::vector<std::pair<std::string, std::string>>* secrets,
                               const std::vector<std::string>& more_settings) {
  secrets->push_back({"mail_user", dir.Write("secrets/mail_user", address + "\n")});
  secrets->push_back({"mail_password", dir.Write("secrets/mail_password",
                                                 std::string(ImapServer::kPassword) + "\n")});
  secrets->push_back({"mail_ca", sandbox.dir() + "/ca.crt"});
  PlatformBinding mailbox = {
      "kaigo.v1.OtpService",
      "otp_mailbox",
      {"mailbox_url: imaps://127.0.0.1:" + std::to_string(server ? server->port() : 1) + "/INBOX",
       "username_secret: mail_user", "password_secret: mail_password", "ca_secret: mail_ca",
       "poll_interval_ms: 200"},
      false};
  mailbox.settings.insert(mailbox.settings.end(), more_settings.begin(), more_settings.end());
  return mailbox;
}

}  // namespace kaigo::testing

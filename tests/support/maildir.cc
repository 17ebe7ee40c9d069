#include "tests/support/maildir.h"

#include <algorithm>
#include <filesystem>
#include <regex>

#include "tests/support/test_env.h"

namespace kaigo::testing {

std::vector<plugins::otp_mailbox::MailMessage> MailsTo(const std::string& mail_root,
                                                       const std::string& address,
                                                       const std::string& subject) {
  // Maildir file names start with the delivery time: their order is the order of arrival.
  std::vector<std::pair<std::string, plugins::otp_mailbox::MailMessage>> found;
  for (const char* sub : {"/new", "/cur"}) {
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(mail_root + "/" + address + sub, ec)) {
      auto mail = plugins::otp_mailbox::ParseMail(ReadFile(f.path().string()));
      if (mail.ok() && mail->subject.find(subject) != std::string::npos) {
        found.push_back({f.path().filename().string(), *mail});
      }
    }
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<plugins::otp_mailbox::MailMessage> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

std::string FromNewestMail(const std::string& mail_root, const std::string& address,
                           const std::string& subject, const std::string& pattern) {
  auto mails = MailsTo(mail_root, address, subject);
  std::smatch m;
  if (mails.empty() || !std::regex_search(mails.back().text, m, std::regex(pattern))) return "";
  return m[1];
}

}  // namespace kaigo::testing

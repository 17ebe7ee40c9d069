// Reading the mail the sandbox's portal delivered (DIR/mail/<address>/{new,cur}), as an office
// worker reads it: decoded subjects and text (plugins/otp_mailbox/mail_message.h).
#ifndef KAIGO_TESTS_SUPPORT_MAILDIR_H_
#define KAIGO_TESTS_SUPPORT_MAILDIR_H_

#include <string>
#include <vector>

#include "plugins/otp_mailbox/mail_message.h"

namespace kaigo::testing {

// Mails to `address` under `mail_root` whose subject contains `subject`, oldest first.
std::vector<plugins::otp_mailbox::MailMessage> MailsTo(const std::string& mail_root,
                                                       const std::string& address,
                                                       const std::string& subject);
// What `pattern`'s first group captures in the newest such mail; "" if none.
std::string FromNewestMail(const std::string& mail_root, const std::string& address,
                           const std::string& subject, const std::string& pattern);

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_MAILDIR_H_

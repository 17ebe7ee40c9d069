// otp_mailbox — OtpService that reads the one-time passwords from the office's mailbox.
//
// RequestOtp polls the mailbox (IMAPS, imap_client.h) every poll_interval_ms until the newest
// mail whose decoded Subject is the purpose's subject and whose Date is at or after the request's
// sent_after_time arrives, or the timeout (or the caller's deadline) passes (DEADLINE_EXCEEDED);
// three login refusals in a row end it with UNAUTHENTICATED. A mail once used is remembered in the
// store and never used again. The code and the mail are never logged. ListPending shows the
// requests being waited for; codes are not typed in here, so ProvideOtp and WatchPending answer
// FAILED_PRECONDITION. Thread-safe.
#ifndef KAIGO_PLUGINS_OTP_MAILBOX_OTP_MAILBOX_H_
#define KAIGO_PLUGINS_OTP_MAILBOX_OTP_MAILBOX_H_

#include <functional>
#include <memory>

#include "imap_client.h"
#include "kaigo/sdk/plugin_definition.h"

namespace kaigo::plugins::otp_mailbox {

sdk::PluginDefinition Define();
// The same plugin reading mail through the mailbox `open` makes from the settings' IMAP options
// (empty: ImapClient, the real mailbox), the seam its unit tests give mail through.
using MailboxFactory = std::function<std::unique_ptr<Mailbox>(const ImapOptions& options)>;
sdk::PluginDefinition DefineWith(MailboxFactory open);

}  // namespace kaigo::plugins::otp_mailbox

#endif  // KAIGO_PLUGINS_OTP_MAILBOX_OTP_MAILBOX_H_

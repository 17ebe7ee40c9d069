#include "otp_mailbox.h"

KAIGO_PLUGIN(kaigo::plugins::otp_mailbox::Define)

#include "otp_relay.h"

KAIGO_PLUGIN(kaigo::plugins::otp_relay::Define)

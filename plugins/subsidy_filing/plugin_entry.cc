#include "subsidy_filing.h"

KAIGO_PLUGIN(kaigo::plugins::subsidy::Define)

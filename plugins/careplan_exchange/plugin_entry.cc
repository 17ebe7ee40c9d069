#include "careplan_exchange.h"

KAIGO_PLUGIN(kaigo::plugins::careplan::Define)

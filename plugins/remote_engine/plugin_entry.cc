#include "remote_engine.h"

KAIGO_PLUGIN(kaigo::plugins::remote::Define)

#include "qualification.h"

KAIGO_PLUGIN(kaigo::plugins::qualification::Define)

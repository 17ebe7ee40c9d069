#include "certification.h"

KAIGO_PLUGIN(kaigo::plugins::certification::Define)

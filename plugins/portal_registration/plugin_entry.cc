#include "portal_registration.h"

KAIGO_PLUGIN(kaigo::plugins::portal::Define)

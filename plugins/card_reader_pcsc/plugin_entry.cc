#include "card_reader.h"

KAIGO_PLUGIN(kaigo::plugins::card::Define)

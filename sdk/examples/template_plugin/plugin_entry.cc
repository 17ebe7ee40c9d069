#include "visit_notes_plugin.h"

KAIGO_PLUGIN(acme::DefineVisitNotes)

// visit_notes — a template plugin: a vendor service the engine was built without, written against
// the installed KaigoSDK only. Copy this folder to start a plugin.
#ifndef ACME_VISIT_NOTES_PLUGIN_H_
#define ACME_VISIT_NOTES_PLUGIN_H_

#include "kaigo/sdk/plugin_definition.h"

namespace acme {
kaigo::sdk::PluginDefinition DefineVisitNotes();
}  // namespace acme

#endif  // ACME_VISIT_NOTES_PLUGIN_H_

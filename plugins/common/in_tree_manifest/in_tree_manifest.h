// What every in-tree plugin's manifest says alike: the project as vendor, the project's version
// (kaigo/version.h, so a release names one version everywhere) and the maturity label they share.
#ifndef KAIGO_PLUGINS_COMMON_IN_TREE_MANIFEST_IN_TREE_MANIFEST_H_
#define KAIGO_PLUGINS_COMMON_IN_TREE_MANIFEST_IN_TREE_MANIFEST_H_

#include <string>
#include <utility>

#include "kaigo/sdk/plugin_definition.h"
#include "kaigo/version.h"

namespace kaigo::plugins {

inline sdk::PluginManifest InTreeManifest(std::string name) {
  sdk::PluginManifest m;
  m.name = std::move(name);
  m.version = KAIGO_SDK_VERSION;
  m.vendor = "kaigo-bridge";
  m.status = "alpha";
  return m;
}

}  // namespace kaigo::plugins

#endif  // KAIGO_PLUGINS_COMMON_IN_TREE_MANIFEST_IN_TREE_MANIFEST_H_

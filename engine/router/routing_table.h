// The engine's routing state as one immutable snapshot: which methods exist, which plugin instance
// serves each service for each office, and who may call for which office in which roles. A reload
// or a swap builds a new table and publishes it atomically; calls in flight keep the instances of
// the table they started with.
//
// Immutable after construction; thread-safe to read.
#ifndef KAIGO_ENGINE_ROUTER_ROUTING_TABLE_H_
#define KAIGO_ENGINE_ROUTER_ROUTING_TABLE_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/metrics/metrics.h"
#include "engine/plugin/plugin_instance.h"
#include "engine/router/access_policy.h"
#include "engine/router/caller_identity.h"
#include "engine/router/descriptor_index.h"
#include "kaigo/sdk/internal/host_side.h"

namespace kaigo::engine {

struct MethodRoute {
  std::string service;
  bool server_streaming = false;
  MethodPolicy policy;  // who may call it (access_policy.h)
};

struct ServiceBinding {
  std::shared_ptr<PluginInstance> instance;
  // Metrics series of this plugin, by method path.
  const std::unordered_map<std::string, MethodMetrics*>* metrics = nullptr;
};

struct OfficeRoute {
  std::string number;
  std::string name;
  std::unordered_map<std::string, ServiceBinding> services;  // by full service name
};

struct CallerGrant {
  bool all_offices = false;
  std::set<std::string> offices;
  std::vector<std::string> roles;  // short names: care_manager, engine_admin …
  bool delegate = false;           // may call on behalf of others (CallerConfig.delegate)
};

// What a call says of who acts, beside the authenticated caller: the role it chooses
// (x-kaigo-role), and for a delegate the person it acts for and their roles
// (x-kaigo-on-behalf-of, x-kaigo-on-behalf-of-roles, comma-separated).
struct CallerClaims {
  std::string role;
  std::string on_behalf_of;
  std::string on_behalf_of_roles;
};

// What a call needs once admitted.
struct Admission {
  sdk::host::Target target;
  MethodMetrics* metrics = nullptr;
  std::vector<std::string> roles;
  std::string caller;
};

class RoutingTable {
 public:
  std::unordered_map<std::string, MethodRoute> methods;  // by path
  std::unordered_map<std::string, OfficeRoute> offices;  // by office number
  // No callers configured (a desk install on loopback): every caller may act for every office in
  // every office role, never as engine_admin.
  bool open_access = true;
  std::unordered_map<std::string, CallerGrant> callers;  // by identity
  CallerVerification verification;                       // pins and revocations
  std::map<std::string, std::unordered_map<std::string, MethodMetrics*>> metrics_by_plugin;
  std::shared_ptr<const DescriptorIndex> descriptors;
  bool access_log = false;  // one JSON line per finished call

  // Admits a call from `caller` for `office` (the x-kaigo-office value, empty if absent) to
  // `method`, acting in `role` (the x-kaigo-role value: one the caller was granted; empty: every
  // role it was granted), or says why not with the fitting gRPC code. Admission.roles are the
  // acting roles the method's policy allows; Admission.caller who acts ("<person> via <caller>"
  // for a delegate's call).
  absl::StatusOr<Admission> Admit(const std::string& method, const std::string& office,
                                  const std::string& caller, const CallerClaims& claims = {}) const;
  // The roles `caller` holds, or an error if it may not call at all.
  absl::StatusOr<std::vector<std::string>> RolesOf(const std::string& caller) const;
  // The roles a call of `caller` acts in: `role` (x-kaigo-role) when the caller holds it, else all
  // it holds; PERMISSION_DENIED when it holds none or not `role`.
  absl::StatusOr<std::vector<std::string>> ActingRoles(const std::string& caller,
                                                       const std::string& role) const;
  // For calls between concerns of one office, made for a person acting in `person_roles` (empty
  // for a plugin acting on its own): the callee's policy must admit calls from other concerns.
  absl::StatusOr<sdk::host::Target> Route(const std::string& office, const std::string& method,
                                          const std::vector<std::string>& person_roles) const;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_ROUTER_ROUTING_TABLE_H_

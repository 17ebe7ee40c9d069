// What a host knows about one call — method, office, caller, request id, roles, deadline — as both
// sides of the ABI hold it: a host builds it (the engine at admission, the fake host in tests) and
// passes it in kaigo_call_info; a plugin reads it back from there (CallBase::info()). One struct,
// so the engine and the fake host cannot lend a plugin different things.
#ifndef KAIGO_SDK_CALL_CONTEXT_H_
#define KAIGO_SDK_CALL_CONTEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kaigo/plugin.h"

namespace kaigo::sdk {

struct CallContext {
  std::string method;
  std::string office;
  std::string caller;  // the person's care system (certificate identity), or "plugin:NAME"
  std::string request_id;
  std::vector<std::string> roles;  // the roles the call acts in, as admitted
  int64_t deadline_unix_ms = 0;    // 0: none
  std::string
      user;  // the staff member acting (x-kaigo-user), as the care system attests; may be ""
  // In kaigo-plugin-host: the engine's id of the call it bridges to this plugin; 0 elsewhere.
  uint64_t bridged_call = 0;

  static CallContext From(const kaigo_call_info& info);
  bool HasRole(std::string_view role) const;

  // What a call another concern makes from inside this one (`parent`, null outside any call)
  // carries: the person's caller, roles, request id and deadline — the callee's policy is checked
  // against them — or, outside any call, the plugin itself ("plugin:NAME") with no roles.
  static CallContext Child(const CallContext* parent, std::string method, std::string office,
                           const std::string& plugin_name);
};

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_CALL_CONTEXT_H_

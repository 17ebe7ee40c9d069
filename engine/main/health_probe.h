// `kaigo-bridge health-probe`: asks a running engine's grpc.health.v1 service whether it serves,
// for container HEALTHCHECKs and scripts (Debian 12 packages no gRPC health client).
#ifndef KAIGO_ENGINE_MAIN_HEALTH_PROBE_H_
#define KAIGO_ENGINE_MAIN_HEALTH_PROBE_H_

#include <string>
#include <vector>

namespace kaigo::engine {

// args: [--config FILE | --address HOST:PORT] [--service NAME] [--timeout-ms N]. With --config,
// the address is the file's server.health_listen (a wildcard host asked on loopback). Exit status:
// 0 SERVING, 1 anything else (named on stderr), 2 a usage error.
int HealthProbe(const std::vector<std::string>& args);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_MAIN_HEALTH_PROBE_H_

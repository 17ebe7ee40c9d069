// The Echo handler's logic, shared by the probe plugin and bench_engine_overhead's bare gRPC
// server, so both sides of the benchmark run the same code.
#ifndef KAIGO_TESTS_PLUGINS_PROBE_ECHO_HANDLER_H_
#define KAIGO_TESTS_PLUGINS_PROBE_ECHO_HANDLER_H_

#include <string>
#include <vector>

#include "kaigo/test/v1/probe.pb.h"

namespace kaigo::test {

inline void AnswerEcho(const kaigo::test::v1::EchoRequest& request, const std::string& office,
                       const std::string& caller, const std::vector<std::string>& roles,
                       kaigo::test::v1::EchoResponse* response) {
  response->set_payload(request.payload());
  response->set_office(office);
  response->set_caller(caller);
  for (const auto& r : roles) response->add_roles(r);
}

}  // namespace kaigo::test

#endif  // KAIGO_TESTS_PLUGINS_PROBE_ECHO_HANDLER_H_

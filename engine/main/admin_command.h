// `kaigo-bridge admin --config FILE COMMAND …`: EngineAdminService through the engine's admin
// socket (server.admin_socket of that configuration), for a desk install whose API port serves no
// admin method and for operators on the engine's machine.
#ifndef KAIGO_ENGINE_MAIN_ADMIN_COMMAND_H_
#define KAIGO_ENGINE_MAIN_ADMIN_COMMAND_H_

#include <string>
#include <vector>

namespace kaigo::engine {

// Runs one admin command; returns the process exit code (0 done, 1 refused or failed, 2 usage).
int AdminCommand(const std::vector<std::string>& args);

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_MAIN_ADMIN_COMMAND_H_

// faulty — a plugin built against kaigo/plugin.h alone (no SDK, no protobuf), as a vendor might
// write one, that fails on request in every way a process can: it crashes, aborts, lets an
// exception escape, leaks past any limit, hangs or exits. Only ever loaded with
// `isolation: process` (tests/isolation_test.cc).
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kaigo/plugin.h"

extern "C" const uint8_t fault_descriptor_set[];
extern "C" const size_t fault_descriptor_set_size;

namespace {

const char* kServices[] = {"kaigo.test.v1.FaultService"};

kaigo_manifest manifest = {sizeof(kaigo_manifest),
                           "faulty",
                           "1.0.0",
                           "tests",
                           "experimental",
                           "trusts nothing; talks to nothing",
                           kServices,
                           1,
                           {nullptr, 0},
                           "",
                           nullptr,
                           0,
                           nullptr,
                           nullptr};

struct Instance {
  const kaigo_host_api* host;
  std::string office;
};

// MisbehaveRequest.how (field 1, length-delimited, under 128 bytes), or "".
std::string HowOf(kaigo_bytes request) {
  if (request.size >= 2 && request.data[0] == 0x0a && request.data[1] < 0x80 &&
      request.data[1] + 2u <= request.size) {
    return std::string(reinterpret_cast<const char*>(request.data + 2), request.data[1]);
  }
  return "";
}

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

int32_t Create(const kaigo_host_api* host_api, kaigo_host*, const kaigo_instance_info* info,
               kaigo_bytes, kaigo_instance** out, kaigo_sink) {
  *out = reinterpret_cast<kaigo_instance*>(
      new Instance{host_api, std::string(info->office.data, info->office.size)});
  return KAIGO_CODE_OK;
}

void Destroy(kaigo_instance* instance) { delete reinterpret_cast<Instance*>(instance); }

void CallStart(kaigo_instance* instance, kaigo_call* call, const kaigo_call_info*,
               kaigo_bytes request, void**) {
  auto* self = reinterpret_cast<Instance*>(instance);
  std::string how = HowOf(request);
  if (how == "segfault") {
    volatile int* nowhere = nullptr;
    *nowhere = 1;
  } else if (how == "abort") {
    std::abort();
  } else if (how == "throw") {
    throw std::runtime_error("faulty: thrown on request");
  } else if (how == "leak") {
    std::vector<char*> kept;
    for (;;) {
      char* block = new char[1 << 20];
      std::memset(block, 1, 1 << 20);
      kept.push_back(block);
    }
  } else if (how == "hang") {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  } else if (how == "exit") {
    std::exit(3);
  }
  std::string response;
  response.push_back(0x0a);  // office
  response.push_back(static_cast<char>(self->office.size()));
  response += self->office;
  response.push_back(0x10);  // pid
  AppendVarint(&response, static_cast<uint64_t>(getpid()));
  kaigo_status ok{KAIGO_CODE_OK, {nullptr, 0}, {nullptr, 0}};
  self->host->call_finish(call, &ok,
                          {reinterpret_cast<const uint8_t*>(response.data()), response.size()});
}

void CallCancel(kaigo_instance*, kaigo_call*, void*) {}

const kaigo_plugin_api api = {sizeof(kaigo_plugin_api),
                              KAIGO_ABI_VERSION,
                              &manifest,
                              &Create,
                              &Destroy,
                              &CallStart,
                              &CallCancel};

}  // namespace

extern "C" __attribute__((visibility("default"))) const kaigo_plugin_api* kaigo_plugin_entry(
    uint32_t host_abi_version) {
  if (host_abi_version != KAIGO_ABI_VERSION) return nullptr;
  manifest.file_descriptor_set = {fault_descriptor_set, fault_descriptor_set_size};
  return &api;
}

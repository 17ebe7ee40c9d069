/* broken — a deliberately careless plugin in plain C, for kaigo-plugin-check's negative test:
 * its version is not semantic, it lists a service its descriptors lack, and it crashes on
 * malformed requests. It also shows that the ABI needs no C++. */
#include <stddef.h>
#include <string.h>

#include "kaigo/plugin.h"

static const char* services[] = {"kaigo.v1.OtpService", "kaigo.test.v1.NotDeclaredService"};

/* otp.proto's FileDescriptorSet, embedded at build time (otp_fds.c). */
extern const uint8_t otp_descriptor_set[];
extern const size_t otp_descriptor_set_size;

static kaigo_manifest manifest = {sizeof(kaigo_manifest),
                                  "broken",
                                  "1",
                                  "tests",
                                  "stable",
                                  "none",
                                  services,
                                  2,
                                  {NULL, 0},
                                  "",
                                  NULL,
                                  0,
                                  NULL,
                                  NULL};

static int32_t create(const kaigo_host_api* host_api, kaigo_host* host,
                      const kaigo_instance_info* info, kaigo_bytes config, kaigo_instance** out,
                      kaigo_sink error) {
  (void)host_api;
  (void)host;
  (void)info;
  (void)config;
  (void)error;
  *out = (kaigo_instance*)host;
  return KAIGO_CODE_OK;
}

static void destroy(kaigo_instance* instance) { (void)instance; }

static void call_start(kaigo_instance* instance, kaigo_call* call, const kaigo_call_info* info,
                       kaigo_bytes request, void** call_ctx) {
  (void)instance;
  (void)call;
  (void)info;
  (void)call_ctx;
  /* "Parses" without checking lengths. */
  volatile const uint8_t* p = request.size > 0 && request.data[0] == 0xff ? NULL : request.data;
  (void)p[0];
}

static void call_cancel(kaigo_instance* instance, kaigo_call* call, void* call_ctx) {
  (void)instance;
  (void)call;
  (void)call_ctx;
}

static const kaigo_plugin_api api = {sizeof(kaigo_plugin_api),
                                     KAIGO_ABI_VERSION,
                                     &manifest,
                                     create,
                                     destroy,
                                     call_start,
                                     call_cancel};

__attribute__((visibility("default"))) const kaigo_plugin_api* kaigo_plugin_entry(uint32_t v) {
  manifest.file_descriptor_set.data = otp_descriptor_set;
  manifest.file_descriptor_set.size = otp_descriptor_set_size;
  return v == KAIGO_ABI_VERSION ? &api : NULL;
}

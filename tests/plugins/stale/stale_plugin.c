/* stale: a plugin built against another release of the kaigo API (STALE_API_RELEASE, "0.9.0"),
 * which the engine and kaigo-plugin-check must refuse naming both releases. Otherwise a sound
 * OtpService plugin, so that the release is the only reason. Built twice (tests/plugins):
 * stale_linked links a stand-in libkaigo_proto.so.0.9 as an SDK plugin of that release would,
 * stale_manifest links none and only states the release. */
#include <stddef.h>

#include "kaigo/plugin.h"

extern const uint8_t otp_descriptor_set[];
extern const size_t otp_descriptor_set_size;
#ifdef STALE_LINKED
int kaigo_proto_stand_in(void);
#endif

static const char* services[] = {"kaigo.v1.OtpService"};

static kaigo_manifest manifest = {sizeof(kaigo_manifest),
                                  "stale",
                                  "1.0.0",
                                  "tests",
                                  "experimental",
                                  "trusts nothing; talks to nothing",
                                  services,
                                  1,
                                  {NULL, 0},
                                  "",
                                  NULL,
                                  0,
                                  STALE_API_RELEASE,
                                  STALE_API_RELEASE};

static const kaigo_host_api* host_table;

static int32_t create(const kaigo_host_api* host_api, kaigo_host* host,
                      const kaigo_instance_info* info, kaigo_bytes config, kaigo_instance** out,
                      kaigo_sink error) {
  (void)info;
  (void)config;
  (void)error;
#ifdef STALE_LINKED
  (void)kaigo_proto_stand_in();
#endif
  host_table = host_api;
  *out = (kaigo_instance*)host;
  return KAIGO_CODE_OK;
}

static void destroy(kaigo_instance* instance) { (void)instance; }

static void call_start(kaigo_instance* instance, kaigo_call* call, const kaigo_call_info* info,
                       kaigo_bytes request, void** call_ctx) {
  static const char message[] = "stale answers nothing";
  kaigo_status status = {KAIGO_CODE_UNIMPLEMENTED, {message, sizeof message - 1}, {NULL, 0}};
  kaigo_bytes empty = {NULL, 0};
  (void)instance;
  (void)info;
  (void)request;
  *call_ctx = NULL;
  host_table->call_finish(call, &status, empty);
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

/*
 * kaigo/plugin.h — the plugin ABI of kaigo-bridge.
 *
 * This header is the only contract between the engine (the host) and a plugin. It is plain C so
 * that a plugin built with another compiler, another C++ standard library, or in another language
 * with a C shim still loads. The C++ layer in kaigo/sdk/ wraps it; vendors normally use that.
 *
 * Conventions
 *
 *  Entry point. A plugin exports exactly one symbol, `kaigo_plugin_entry` (see
 *  KAIGO_PLUGIN_ENTRY_SYMBOL), with C linkage and default visibility; everything else should be
 *  hidden (-fvisibility=hidden). The host passes the ABI version it speaks; the plugin returns its
 *  table, or NULL if it cannot serve that version.
 *
 *  Versioning. Every table and every struct that may grow begins with `uint32_t struct_size`
 *  (sizeof as the producer compiled it). Fields are only ever appended. A reader uses a field only
 *  if struct_size covers it (KAIGO_HAS_FIELD) and treats absent fields as zero. The ABI version
 *  changes only for an incompatible change; KAIGO_ABI_VERSION 1 is the first. Apart from the ABI,
 *  a plugin that links libkaigo_proto is bound to the kaigo API release it was built against
 *  (the library's SONAME, kaigo_manifest.api_release): the host refuses it under another.
 *
 *  Bytes and strings. Both travel as (pointer, length): kaigo_bytes and kaigo_str. Strings are
 *  UTF-8 and need not be NUL-terminated. Except where a function says otherwise, the receiver
 *  borrows: the pointer is valid only for the duration of the call that passes it, and must be
 *  copied to be kept. Nothing allocated on one side is freed on the other: data that the host
 *  hands back (store values, secrets, error texts) is written into a kaigo_sink the caller
 *  supplies.
 *
 *  Messages. Requests and responses cross as serialized protobuf bytes of the method's message
 *  types; methods are named by their full gRPC path, "/kaigo.v1.OtpService/RequestOtp".
 *
 *  Errors. Results are gRPC status codes (KAIGO_CODE_*) with a UTF-8 message and optional details
 *  (a serialized google.rpc.Status). A message is shown to callers: never put a secret, a stack
 *  trace or personal data in it. Bad input is KAIGO_CODE_INVALID_ARGUMENT naming the field and the
 *  rule it broke. No C++ exception may leave the plugin.
 *
 *  Calls and ownership. The host owns every kaigo_call. A call is started by
 *  kaigo_plugin_api.call_start and stays valid until the plugin's kaigo_host_api.call_finish
 *  for it has returned; the plugin must finish every call exactly once, cancelled or not. A server
 *  streaming method writes any number of messages with call_write, then finishes with an empty
 *  response. The host delivers call_cancel at most once per call, never after call_finish has
 *  returned; call_finish waits for a cancel notification that is running on another thread, so do
 *  not hold, while calling call_finish, a lock that your call_cancel takes.
 *
 *  Threads. call_start is invoked on the host's RPC threads and must not block: start the work
 *  and return (do blocking work, such as upstream I/O, on your own threads). Every host function
 *  may be called from any thread, concurrently. call_cancel and the reply handler of an outgoing
 *  call run on host threads and must not block either. `destroy` is called once, after every call
 *  of the instance has finished; it must stop the instance's threads and outgoing calls.
 *
 *  Isolation. A plugin's store keys, audit records, secrets and metrics are namespaced by the host
 *  to (plugin name, office); a plugin cannot read another's. A plugin reaches another concern only
 *  through kaigo_host_api.call_start, never by linking it.
 *
 *  Lifetime of the image. The host never unloads a plugin image while the process runs; a new
 *  version is loaded beside the old one and the old instances drain.
 *
 *  Trust. A plugin the engine loads into its own process (the default) is trusted with everything
 *  the engine holds — every office's certificates, passwords, stored state and audit log — since
 *  nothing in one process can keep it from them, and a crash in it ends the engine. A plugin
 *  configured with `isolation: process` is not trusted: it runs in a child process
 *  (kaigo-plugin-host) with memory and file limits, and reaches only what this table lends it,
 *  served by the engine — its own (plugin, office) store and audit, only the secrets its settings
 *  name, the calls its manifest declares. The same image serves both ways; the contract above is
 *  the same, and a violation in an isolated plugin (a crash, an escaped exception, a call left
 *  unfinished after its cancel) ends only its process.
 */
#ifndef KAIGO_PLUGIN_H_
#define KAIGO_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KAIGO_ABI_VERSION 1u
#define KAIGO_PLUGIN_ENTRY_SYMBOL "kaigo_plugin_entry"

/* True when a struct of the given size, produced by the other side, contains `field`. */
#define KAIGO_HAS_FIELD(ptr, type, field) \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* gRPC status codes. */
enum {
  KAIGO_CODE_OK = 0,
  KAIGO_CODE_CANCELLED = 1,
  KAIGO_CODE_UNKNOWN = 2,
  KAIGO_CODE_INVALID_ARGUMENT = 3,
  KAIGO_CODE_DEADLINE_EXCEEDED = 4,
  KAIGO_CODE_NOT_FOUND = 5,
  KAIGO_CODE_ALREADY_EXISTS = 6,
  KAIGO_CODE_PERMISSION_DENIED = 7,
  KAIGO_CODE_RESOURCE_EXHAUSTED = 8,
  KAIGO_CODE_FAILED_PRECONDITION = 9,
  KAIGO_CODE_ABORTED = 10,
  KAIGO_CODE_OUT_OF_RANGE = 11,
  KAIGO_CODE_UNIMPLEMENTED = 12,
  KAIGO_CODE_INTERNAL = 13,
  KAIGO_CODE_UNAVAILABLE = 14,
  KAIGO_CODE_DATA_LOSS = 15,
  KAIGO_CODE_UNAUTHENTICATED = 16
};

enum { KAIGO_LOG_DEBUG = 0, KAIGO_LOG_INFO = 1, KAIGO_LOG_WARN = 2, KAIGO_LOG_ERROR = 3 };

typedef struct kaigo_bytes {
  const uint8_t* data;
  size_t size;
} kaigo_bytes;

typedef struct kaigo_str {
  const char* data;
  size_t size;
} kaigo_str;

/* Receives bytes the other side produces. `write` may be called several times (append), and
 * the data is valid only during the call. */
typedef struct kaigo_sink {
  void* ctx;
  void (*write)(void* ctx, const uint8_t* data, size_t size);
} kaigo_sink;

typedef struct kaigo_status {
  int32_t code;
  kaigo_str message;
  kaigo_bytes details; /* serialized google.rpc.Status, or empty */
} kaigo_status;

/* Opaque handles. */
typedef struct kaigo_host kaigo_host;         /* host side of one plugin instance; host-owned */
typedef struct kaigo_call kaigo_call;         /* an incoming call; host-owned */
typedef struct kaigo_instance kaigo_instance; /* one plugin instance (one office); plugin-owned */
typedef struct kaigo_outgoing_call kaigo_outgoing_call; /* a call to another concern */

/* What the host knows about an incoming call. Valid during call_start only; copy what you keep. */
typedef struct kaigo_call_info {
  uint32_t struct_size;
  kaigo_str method;     /* "/kaigo.v1.OtpService/RequestOtp" */
  kaigo_str office;     /* 10-character 介護保険事業所番号 the call acts for */
  kaigo_str caller;     /* authenticated identity (certificate CN, "anonymous", or "plugin:NAME") */
  kaigo_str request_id; /* for logs; from x-request-id or generated */
  const kaigo_str* roles; /* role names, e.g. "care_manager" */
  size_t role_count;
  int64_t deadline_unix_ms; /* 0: no deadline */
  kaigo_str user; /* the staff member acting, as the care system attests it (x-kaigo-user); may be
                   * empty. Personal: for audit records, never for logs or messages. */
} kaigo_call_info;

/* Receives the replies of an outgoing call. on_message runs for each response message; on_finish
 * runs exactly once, last, even after a cancel. Both run on host threads and must not block. */
typedef struct kaigo_reply_handler {
  void* ctx;
  void (*on_message)(void* ctx, kaigo_bytes message);
  void (*on_finish)(void* ctx, const kaigo_status* status);
} kaigo_reply_handler;

typedef struct kaigo_audit_record {
  uint32_t struct_size;
  kaigo_str action;      /* what was done, e.g. the method name */
  kaigo_str subject_ref; /* a reference to the recipient (never the personal values) */
  int32_t outcome;       /* KAIGO_CODE_* of the access */
  kaigo_str detail;      /* optional, non-personal */
} kaigo_audit_record;

/* What the host offers a plugin instance. Passed to create; valid until destroy returns. */
typedef struct kaigo_host_api {
  uint32_t struct_size;
  uint32_t abi_version;

  void (*log)(kaigo_host* host, int32_t level, kaigo_str message);

  /* Incoming calls. call_write returns KAIGO_CODE_OK, or KAIGO_CODE_CANCELLED once the caller has
   * gone (stop producing). call_finish ends the call; `response` is the unary response (empty for
   * streams and for errors). */
  int32_t (*call_write)(kaigo_call* call, kaigo_bytes message);
  void (*call_finish)(kaigo_call* call, const kaigo_status* status, kaigo_bytes response);

  /* Durable store, namespaced to (plugin, office). Keys are UTF-8, at most 512 bytes. store_get
   * returns KAIGO_CODE_NOT_FOUND for a missing key. store_list calls `each` for every key with
   * the prefix, in key order. The host seals every value at rest (AES-256-GCM); keys are stored
   * in clear, so a key never holds a personal value (use a random id, a digest or a keyed
   * reference). A value the host cannot open reads as KAIGO_CODE_DATA_LOSS. */
  int32_t (*store_get)(kaigo_host* host, kaigo_str key, kaigo_sink value);
  int32_t (*store_put)(kaigo_host* host, kaigo_str key, kaigo_bytes value);
  int32_t (*store_delete)(kaigo_host* host, kaigo_str key);
  int32_t (*store_list)(kaigo_host* host, kaigo_str prefix, void* ctx,
                        void (*each)(void* ctx, kaigo_str key, kaigo_bytes value));

  /* Appends to the engine's tamper-evident audit log. `call` (may be NULL) supplies caller,
   * office and request id. */
  int32_t (*audit_append)(kaigo_host* host, const kaigo_call* call,
                          const kaigo_audit_record* record);

  /* A secret the office's configuration binds to `name`; KAIGO_CODE_NOT_FOUND if unbound. */
  int32_t (*secret_get)(kaigo_host* host, kaigo_str name, kaigo_sink value);

  /* Adds `delta` to the counter kaigo_plugin_<name>_total, labelled with the plugin. */
  void (*metric_add)(kaigo_host* host, kaigo_str name, double delta);

  /* Calls another concern for the same office, by full method path. `parent` (may be NULL) lends
   * the person's caller, roles, request id and deadline (sdk CallContext::Child); the callee's
   * access policy must admit calls from other concerns for those roles (`from_plugins`), or be
   * `plugins_only`. Without a parent the call is the plugin's own, with no roles. Returns a handle
   * the plugin must release exactly once with outgoing_release (before or after on_finish); NULL
   * only if the host is out of memory, in which case on_finish has already run. */
  kaigo_outgoing_call* (*call_start)(kaigo_host* host, const kaigo_call* parent, kaigo_str method,
                                     kaigo_bytes request, kaigo_reply_handler handler);
  void (*outgoing_cancel)(kaigo_outgoing_call* call);
  void (*outgoing_release)(kaigo_outgoing_call* call);

  /* The host's clock: Unix time in microseconds, the system time plus the host's offset (zero in
   * production; tests move it to a named day). Read it for business dates ("today" in Japan) and
   * for timestamps you store; keep deadlines, TTLs and backoff on a monotonic clock. A host too old
   * to have this field has no offset: read the system time. */
  int64_t (*now_unix_us)(kaigo_host* host);

  /* Compare-and-set over the durable store. Every write of a key (store_put included) gives it a
   * new version, a positive number never given to that key before; versions only say "changed",
   * never "by how much". store_get_versioned is store_get that also sets *version.
   * store_put_if writes `value` only if the key's version is still `expected_version` (0: only if
   * the key does not exist), atomically for every engine sharing the store, and sets *new_version
   * (may be NULL) to the version written; KAIGO_CODE_ABORTED, writing nothing, when the key has
   * changed, appeared or gone since. A host too old to have these fields offers no
   * compare-and-set: check KAIGO_HAS_FIELD before using them. */
  int32_t (*store_get_versioned)(kaigo_host* host, kaigo_str key, kaigo_sink value,
                                 int64_t* version);
  int32_t (*store_put_if)(kaigo_host* host, kaigo_str key, kaigo_bytes value,
                          int64_t expected_version, int64_t* new_version);
} kaigo_host_api;

typedef struct kaigo_manifest {
  uint32_t struct_size;
  const char* name;    /* [a-z0-9_]+, unique per engine, e.g. "otp_relay" */
  const char* version; /* semantic version */
  const char* vendor;
  const char* status;           /* "stable", "alpha" or "experimental" */
  const char* security_posture; /* what the plugin trusts and talks to, for integrators */
  const char* const* services;  /* full service names the plugin implements */
  size_t service_count;
  kaigo_bytes file_descriptor_set; /* serialized FileDescriptorSet: the services and all deps */
  const char* config_type;         /* full message name of its settings, or "" for none */

  /* The methods of other concerns the plugin calls through kaigo_host_api.call_start, by full
   * path ("/kaigo.v1.OtpService/RequestOtp"). The host refuses a call to any other method; a
   * manifest without this field calls nothing. */
  const char* const* calls;
  size_t call_count;

  /* What the plugin was built with (kaigo/version.h; the C++ SDK fills both): `sdk_version`, the
   * kaigo SDK's semantic version, and `api_release`, the release of the kaigo API whose generated
   * library the plugin links (libkaigo_proto.so.MAJOR.MINOR). The host refuses a plugin whose
   * api_release has another MAJOR.MINOR than its own. A plugin that links no libkaigo_proto
   * (plain C against this header alone) leaves api_release NULL or "". NULL when absent. */
  const char* sdk_version;
  const char* api_release;
} kaigo_manifest;

/* What the host tells an instance about itself at creation. Valid during create only. */
typedef struct kaigo_instance_info {
  uint32_t struct_size;
  kaigo_str office;      /* the 介護保険事業所番号 this instance serves */
  kaigo_str plugin_name; /* as configured */
} kaigo_instance_info;

/* The plugin's table. Static: valid for the life of the process. */
typedef struct kaigo_plugin_api {
  uint32_t struct_size;
  uint32_t abi_version;
  const kaigo_manifest* manifest;

  /* Creates the instance serving one office. `config` is the serialized settings message
   * (manifest.config_type). On failure returns a KAIGO_CODE_* and writes the reason to `error`. */
  int32_t (*create)(const kaigo_host_api* host_api, kaigo_host* host,
                    const kaigo_instance_info* info, kaigo_bytes config, kaigo_instance** out,
                    kaigo_sink error);
  void (*destroy)(kaigo_instance* instance);

  /* Starts a call; see "Calls and ownership" and "Threads" above. The plugin may set *call_ctx;
   * the host passes it back to call_cancel. */
  void (*call_start)(kaigo_instance* instance, kaigo_call* call, const kaigo_call_info* info,
                     kaigo_bytes request, void** call_ctx);
  void (*call_cancel)(kaigo_instance* instance, kaigo_call* call, void* call_ctx);
} kaigo_plugin_api;

typedef const kaigo_plugin_api* (*kaigo_plugin_entry_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KAIGO_PLUGIN_H_ */

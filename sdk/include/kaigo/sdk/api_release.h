// Which release of the kaigo API a plugin image was built against, and whether this build can
// load it. Shared by the engine's loader, kaigo-plugin-host and kaigo-plugin-check, so all three
// refuse the same images with the same words.
//
// The generated classes of the API live in libkaigo_proto, whose SONAME names the API's
// MAJOR.MINOR (libkaigo_proto.so.1.0). An image built against another release must not be
// loaded: the dynamic loader would fail on the missing library or, worse, load a second copy and
// protobuf would abort the process on the second registration of kaigo/v1/*.proto. So the check
// runs twice: before loading, on the image's DT_NEEDED entries (every image the C++ SDK builds
// links libkaigo_proto), and after, on the manifest's api_release (a plain-C plugin that links no
// libkaigo_proto states none and passes). Releases that differ only in PATCH share a SONAME and
// are compatible.
//
//   if (absl::Status s = CheckLinkedApiRelease("otp_relay", path, "this engine"); !s.ok()) …
//
// Thread-safe: functions only.
#ifndef KAIGO_SDK_API_RELEASE_H_
#define KAIGO_SDK_API_RELEASE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kaigo/version.h"

namespace kaigo::sdk {

inline constexpr char kSdkVersion[] = KAIGO_SDK_VERSION;
inline constexpr char kApiRelease[] = KAIGO_API_RELEASE;
inline constexpr char kProtoSoname[] = KAIGO_PROTO_SONAME;

struct ApiRelease {
  int major = 0;
  int minor = 0;
  int patch = 0;
};

// "MAJOR.MINOR.PATCH", each a decimal number; nullopt for anything else.
std::optional<ApiRelease> ParseApiRelease(std::string_view text);

// The DT_NEEDED entries (library names) of a 64-bit ELF shared object of this machine's byte
// order, given its bytes. InvalidArgument if the bytes are not one.
absl::StatusOr<std::vector<std::string>> NeededLibraries(std::string_view image);

// Before loading the image at `path`: FailedPrecondition, naming both releases, if it needs a
// libkaigo_proto other than this build's. OK for an image that needs none, and for a file that is
// not an ELF shared object (loading it fails with the loader's own reason). `plugin` names the
// plugin, `host` the program checking ("this engine").
absl::Status CheckLinkedApiRelease(std::string_view plugin, const std::string& path,
                                   std::string_view host);

// After loading: FailedPrecondition, naming both releases, if the manifest's `api_release` is not
// of this build's MAJOR.MINOR. Empty (a plugin that links no libkaigo_proto) passes.
absl::Status CheckManifestApiRelease(std::string_view plugin, std::string_view api_release,
                                     std::string_view host);

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_API_RELEASE_H_

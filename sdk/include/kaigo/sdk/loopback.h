// Whether a listener's host is the loopback interface, for the things only a loopback-only process
// may do (serve without TLS, accept a test clock).
#ifndef KAIGO_SDK_LOOPBACK_H_
#define KAIGO_SDK_LOOPBACK_H_

#include <string_view>

namespace kaigo {

// True for "localhost" and for addresses in 127.0.0.0/8 or ::1 (brackets allowed), written as
// numeric addresses: a name that merely begins with "127." is not loopback.
bool IsLoopbackHost(std::string_view host);

}  // namespace kaigo

#endif  // KAIGO_SDK_LOOPBACK_H_

// The idempotency key of a mutation sent to the platform (the `Idempotency-Key` HTTP header, IETF
// httpapi draft "The Idempotency-Key HTTP Header Field"): the platform performs a POST once per
// key and office, and answers a repeat of it (same key, same request) with the first answer — so
// a retry after a timeout, after the engine died between the platform's answer and the local
// save, or on another replica, makes no second record. The same key with a different request is
// refused (HTTP 422), never performed.
//
// A key is made only by the two named factories, and PlatformClient's mutating requests take one,
// so no POST leaves without a key:
//
//   // the caller's own key for the mutation (today `client_reference`): the caller's retry
//   // repeats it by definition
//   auto key = IdempotencyKey::FromClientReference(reference);
//   // none given: derived from what makes the mutation this one and no other
//   auto key = IdempotencyKey::Derived(office, "subsidy/attachment", {app_id, attachment_id, sha});
//
// Derived keys must be computed from state that is stored before the POST leaves and does not
// change across a retry (an id kept in the store, a content digest), never from the clock or a
// random number — else a retry after a crash makes a second key. Each plugin states, where it
// sends, what its key is made of and where that is kept. Values are immutable; thread-safe.
#ifndef KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_IDEMPOTENCY_KEY_H_
#define KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_IDEMPOTENCY_KEY_H_

#include <string>
#include <string_view>

#include "absl/types/span.h"

namespace kaigo::platform {

class IdempotencyKey {
 public:
  // The caller's key: kept as it is when it is 1 to 128 visible ASCII characters other than
  // '"' and '\\' (what an HTTP header carries unquoted), else its derived form
  // ("ref-" + SHA-256 hex), which is as stable. An empty reference is a programming error: callers
  // derive a key instead (checked: the result is then derived from the empty string, never
  // empty).
  static IdempotencyKey FromClientReference(std::string_view reference);
  // "d-" + lower-case hex SHA-256 over the office, the operation and each part, each
  // length-prefixed, so ("ab", "c") and ("a", "bc") differ. The office may be empty where a part
  // is already the office's own (a flow id, a challenge the platform bound to the office): the
  // platform keeps keys per office.
  static IdempotencyKey Derived(std::string_view office, std::string_view operation,
                                absl::Span<const std::string_view> parts);

  // A key no other request has ("f-" + 128 random bits): the client's own retries of this request
  // (after a timeout) reuse it, a retry by the caller cannot. Only for a request that nothing
  // stored tells apart from a new one of the same content — say at the call why.
  static IdempotencyKey Fresh();

  const std::string& value() const { return value_; }
  // "Idempotency-Key: <value>", the header line.
  std::string Header() const;

  friend bool operator==(const IdempotencyKey& a, const IdempotencyKey& b) {
    return a.value_ == b.value_;
  }
  friend bool operator!=(const IdempotencyKey& a, const IdempotencyKey& b) { return !(a == b); }

 private:
  explicit IdempotencyKey(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

}  // namespace kaigo::platform

#endif  // KAIGO_PLUGINS_COMMON_PLATFORM_CLIENT_IDEMPOTENCY_KEY_H_

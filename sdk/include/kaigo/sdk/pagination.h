// Pages of a List answer (AIP-158): the request's `page_size` and `page_token`, the response's
// `next_page_token`, the same for every List of the API and of vendors' services.
//
// A token is opaque to callers. It holds the position after the page's last item and a
// fingerprint of the request without its page fields, so a token is refused (INVALID_ARGUMENT
// naming `page_token`) with a request other than the one it came from. It is stable across
// processes and replicas: it names no memory, only the position in the list the handler builds
// in its documented order. Items added or removed between pages may shift what the next page
// starts with; lists ordered oldest first only grow at their end, so their pages never repeat or
// skip an item.
#ifndef KAIGO_SDK_PAGINATION_H_
#define KAIGO_SDK_PAGINATION_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace kaigo::sdk {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// The items [begin, end) of a list of `total` items to answer with, and the response's
// next_page_token ("" on the last page).
struct PageWindow {
  size_t begin = 0;
  size_t end = 0;
  std::string next_page_token;
};

// The page `request` asks for. `request` must have the fields `int32 page_size` and
// `string page_token`. INVALID_ARGUMENT with a BadRequest naming the field for a negative
// page_size or a token that is malformed or belongs to another request.
absl::StatusOr<PageWindow> PageOf(const google::protobuf::Message& request, size_t total);

// The page size `request` asks for after the default and the maximum are applied, for handlers
// that fetch items page by page themselves (e.g. from an upstream) rather than slicing a list.
int PageSizeOf(const google::protobuf::Message& request);

}  // namespace kaigo::sdk

#endif  // KAIGO_SDK_PAGINATION_H_

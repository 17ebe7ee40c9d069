#include "kaigo/sdk/pagination.h"

#include <string>
#include <vector>

#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/v1/careplan_exchange.pb.h"

namespace kaigo::sdk {
namespace {

using kaigo::v1::ListSentRequest;

// Walks every page of a list of `total` items and returns the positions seen in order.
std::vector<size_t> Walk(ListSentRequest request, size_t total, int* pages) {
  std::vector<size_t> seen;
  *pages = 0;
  while (true) {
    auto window = PageOf(request, total);
    EXPECT_TRUE(window.ok()) << window.status();
    if (!window.ok()) break;
    ++*pages;
    for (size_t i = window->begin; i < window->end; ++i) seen.push_back(i);
    if (window->next_page_token.empty()) break;
    request.set_page_token(window->next_page_token);
  }
  return seen;
}

TEST(PaginationTest, EveryItemOnceInOrderAcrossPages) {
  ListSentRequest request;
  request.set_month("202612");
  request.set_page_size(7);
  int pages = 0;
  std::vector<size_t> seen = Walk(request, 20, &pages);
  ASSERT_EQ(seen.size(), 20u);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
  EXPECT_EQ(pages, 3);
}

TEST(PaginationTest, DefaultAndMaximumPageSize) {
  ListSentRequest request;
  auto first = PageOf(request, 120);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->end - first->begin, static_cast<size_t>(kDefaultPageSize));
  request.set_page_size(5000);
  auto big = PageOf(request, 5000);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->end - big->begin, static_cast<size_t>(kMaxPageSize));
}

TEST(PaginationTest, AnEmptyListIsOneEmptyPage) {
  auto window = PageOf(ListSentRequest(), 0);
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(window->begin, window->end);
  EXPECT_TRUE(window->next_page_token.empty());
}

void ExpectBadField(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  google::rpc::BadRequest bad;
  ASSERT_TRUE(FindDetail(status, &bad)) << status;
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), field);
}

TEST(PaginationTest, ATokenOfAnotherRequestIsRefusedNamingTheField) {
  ListSentRequest request;
  request.set_month("202611");
  request.set_page_size(2);
  auto first = PageOf(request, 10);
  ASSERT_TRUE(first.ok());
  request.set_month("202612");  // another filter, same token
  request.set_page_token(first->next_page_token);
  ExpectBadField(PageOf(request, 10).status(), "page_token");
  // A different page size with the same filter is the same request.
  request.set_month("202611");
  request.set_page_size(3);
  EXPECT_TRUE(PageOf(request, 10).ok());
}

TEST(PaginationTest, MalformedTokensAndNegativeSizesAreRefused) {
  ListSentRequest request;
  for (const std::string& token : {std::string("%%%"), std::string("cDE6eA"),
                                   std::string("cDI6MTA6MA"), std::string(200, 'A')}) {
    request.set_page_token(token);
    ExpectBadField(PageOf(request, 10).status(), "page_token");
  }
  request.clear_page_token();
  request.set_page_size(-1);
  ExpectBadField(PageOf(request, 10).status(), "page_size");
}

TEST(PaginationTest, ATokenPastTheEndOfAShrunkListGivesAnEmptyLastPage) {
  ListSentRequest request;
  request.set_page_size(5);
  auto first = PageOf(request, 10);
  ASSERT_TRUE(first.ok());
  request.set_page_token(first->next_page_token);
  auto second = PageOf(request, 3);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->begin, second->end);
  EXPECT_TRUE(second->next_page_token.empty());
}

}  // namespace
}  // namespace kaigo::sdk

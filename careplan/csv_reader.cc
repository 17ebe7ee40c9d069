#include "careplan/csv_reader.h"

#include <array>
#include <cstring>

namespace kaigo::careplan {
namespace {

// Bytes that end an unquoted field or need a second look there: ',', LF, CR (a line ending only
// before LF) and '"' (a stray quote).
constexpr std::array<bool, 256> SpecialBytes() {
  std::array<bool, 256> special{};
  special[','] = special['\n'] = special['\r'] = special['"'] = true;
  return special;
}
constexpr std::array<bool, 256> kSpecial = SpecialBytes();

// Line feeds in [p, p + size), which a quoted field may hold (rarely: memchr skips the rest).
int CountLineFeeds(const char* p, size_t size) {
  int count = 0;
  const char* end = p + size;
  while (const void* lf = memchr(p, '\n', end - p)) {
    ++count;
    p = static_cast<const char*>(lf) + 1;
  }
  return count;
}

}  // namespace

CsvReader::CsvReader(absl::string_view data) : data_(data) {
  if (data_.size() >= 3 && data_.substr(0, 3) == "\xEF\xBB\xBF") {
    had_bom_ = true;
    pos_ = 3;
  }
}

// One pass over the record's bytes. Fields point into the data, except those unescaped into
// scratch_ (a doubled quote, text after a closing quote): as scratch_ may still grow while the
// record is read, those get a null view and an entry in spans_, and their views are set at the
// end. Counters live in locals so the compiler keeps them in registers.
bool CsvReader::Next(CsvRecord* record) {
  const char* d = data_.data();
  const size_t n = data_.size();
  size_t i = pos_;
  if (i >= n) return false;
  const int line = line_;
  int line_feeds = 0;
  record->line = line;
  std::vector<CsvField>& fields = record->fields;
  size_t count = 0;
  scratch_.clear();
  spans_.clear();
  auto add = [&](absl::string_view value, bool quoted) {
    if (count == fields.size()) fields.emplace_back();
    CsvField& f = fields[count++];
    f.value = value;
    f.quoted = quoted;
  };
  while (true) {
    int field = static_cast<int>(count) + 1;
    if (i < n && d[i] == '"') {
      // Quoted: runs to the next quote not doubled. Unescaped into the scratch buffer only
      // when a doubled quote occurs.
      const size_t start = ++i;
      size_t segment = start;  // not yet copied to scratch_ (when escaped)
      size_t content_end = n;
      bool escaped = false;
      const size_t scratch_start = scratch_.size();
      while (true) {
        const void* q = i < n ? memchr(d + i, '"', n - i) : nullptr;
        size_t end = q == nullptr ? n : static_cast<const char*>(q) - d;
        line_feeds += CountLineFeeds(d + i, end - i);
        if (q == nullptr) {
          issues_.push_back({CsvIssue::kUnterminatedQuote, line, field});
          if (escaped) scratch_.append(d + segment, n - segment);
          i = n;
          break;
        }
        if (end + 1 < n && d[end + 1] == '"') {
          scratch_.append(d + segment, end + 1 - segment);  // up to and with one quote
          escaped = true;
          i = segment = end + 2;
          continue;
        }
        if (escaped) scratch_.append(d + segment, end - segment);
        content_end = end;
        i = end + 1;
        break;
      }
      // Anything up to the next separator is kept, reported.
      const size_t after = i;
      while (i < n && d[i] != ',' && d[i] != '\n' &&
             !(d[i] == '\r' && i + 1 < n && d[i + 1] == '\n')) {
        ++i;
      }
      size_t offset = scratch_start;
      if (i > after) {
        issues_.push_back({CsvIssue::kTextAfterQuote, line, field});
        if (!escaped) {
          offset = scratch_.size();
          scratch_.append(d + start, content_end - start);
          escaped = true;
        }
        scratch_.append(d + after, i - after);
      }
      if (escaped) {
        Span& s = spans_.emplace_back();
        s.offset = offset;
        s.size = scratch_.size() - offset;
        s.in_scratch = true;
        s.quoted = true;
        add(absl::string_view(), true);
      } else {
        add(absl::string_view(d + start, content_end - start), true);
      }
    } else {
      const size_t start = i;
      while (true) {
        while (i < n && !kSpecial[static_cast<unsigned char>(d[i])]) ++i;
        if (i >= n) break;
        if (d[i] == '"') {
          issues_.push_back({CsvIssue::kStrayQuote, line, field});
        } else if (d[i] != '\r' || (i + 1 < n && d[i + 1] == '\n')) {
          break;  // ',', LF or CRLF
        }
        ++i;
      }
      add(absl::string_view(d + start, i - start), false);
    }
    if (i >= n) {
      unterminated_ = true;
      break;
    }
    if (d[i] == ',') {
      ++i;
      continue;
    }
    if (d[i] == '\r') {
      ++crlf_;
      i += 2;
    } else {
      ++lf_;
      ++i;
    }
    ++line_feeds;
    break;
  }
  pos_ = i;
  line_ = line + line_feeds;
  fields.resize(count);
  if (!spans_.empty()) {
    size_t k = 0;
    for (CsvField& f : fields) {
      if (f.value.data() != nullptr) continue;
      const Span& s = spans_[k++];
      f.value = absl::string_view(scratch_.data() + s.offset, s.size);
    }
  }
  return true;
}

}  // namespace kaigo::careplan

#include "careplan/csv_reader.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kaigo::careplan {
namespace {

constexpr size_t kBlock = 64;

// Why CsvLimits' defaults (shared/reference/careplan-csv-4.1.md §8):
// - max_fields 512: the widest 4.1 layout, UPKIHON 利用者基本情報, has 71 items (UPHOSOKU 63,
//   UPYOBO 57); 5.0 adds items but not several hundred. 512 is seven times the widest record,
//   and a record at the cap holds 12 KiB of field views.
// - max_records 200000: the largest legitimate file is a month's 第6表 (UPPLAN) or 第7表 (UPSIKYU)
//   from a large 居宅介護支援 office to one provider — about 1,500 users at ~40 care managers, a
//   few to ~30 rows each, some 50,000 records. 200,000 leaves four times that.
// - max_issues 1000: a file from a careful sender has none; a sloppy one has a few per record
//   that quotes badly. A thousand is plenty to show the pattern; past it the file is not CSV.
// A 32 MiB request (the engine's default message cap) of commas thus stops at field 513, of
// stray quotes at issue 1001, of line feeds at record 200,001.

// The bits below the lowest set bit of `mask` (all of them when none is set).
uint64_t BelowLowest(uint64_t mask) { return (mask & (~mask + 1)) - 1; }

}  // namespace

CsvReader::CsvReader(absl::string_view data, CsvLimits limits) : data_(data), limits_(limits) {
  if (data_.size() >= 3 && data_.substr(0, 3) == "\xEF\xBB\xBF") {
    had_bom_ = true;
    pos_ = 3;
  }
}

void CsvReader::AddIssue(CsvIssue::Kind kind, int line, int field) {
  if (issues_.size() < static_cast<size_t>(limits_.max_issues)) {
    issues_.push_back({kind, line, field});
  } else if (stop_ == CsvStop::kNone) {
    stop_ = CsvStop::kIssues;
    stop_line_ = line;
  }
}

void CsvReader::ScanBlock(const char* p, Block* block) {
  block->stop = block->quote = block->line_feed = block->non_ascii = 0;
#if defined(__SSE2__)
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    auto bits = [k](__m128i bytes) {
      return uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(bytes))} << (16 * k);
    };
    auto eq = [&v](char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
    const __m128i quote = eq('"'), line_feed = eq('\n');
    block->stop |=
        bits(_mm_or_si128(_mm_or_si128(quote, line_feed), _mm_or_si128(eq(','), eq('\r'))));
    block->quote |= bits(quote);
    block->line_feed |= bits(line_feed);
    block->non_ascii |= bits(v);  // movemask takes each byte's top bit
  }
#else
  for (size_t k = 0; k < kBlock; ++k) {
    const uint64_t bit = uint64_t{1} << k;
    const char c = p[k];
    if (c == ',' || c == '"' || c == '\r' || c == '\n') block->stop |= bit;
    if (c == '"') block->quote |= bit;
    if (c == '\n') block->line_feed |= bit;
    if (static_cast<unsigned char>(c) >= 0x80) block->non_ascii |= bit;
  }
#endif
}

inline void CsvReader::MoveTo(size_t i, Block* block) const {
  const size_t offset = i & ~(kBlock - 1);
  if (offset == block->offset) return;
  block->offset = offset;
  if (data_.size() - offset >= kBlock) {
    ScanBlock(data_.data() + offset, block);
  } else {
    char tail[kBlock] = {};  // zeros: neither stops nor non-ASCII
    memcpy(tail, data_.data() + offset, data_.size() - offset);
    ScanBlock(tail, block);
  }
}

inline size_t CsvReader::FindQuote(size_t i, Block* block, int* line_feeds, bool* non_ascii) const {
  const size_t n = data_.size();
  uint64_t high = 0;
  for (; i < n; i = block->offset + kBlock) {
    MoveTo(i, block);
    const unsigned shift = i - block->offset;
    const uint64_t quotes = block->quote >> shift;
    const uint64_t before = BelowLowest(quotes);
    // Bit by bit: few quoted fields hold a line feed, and x86-64's baseline has no POPCNT.
    for (uint64_t lf = (block->line_feed >> shift) & before; lf != 0; lf &= lf - 1) ++*line_feeds;
    high |= (block->non_ascii >> shift) & before;
    if (quotes != 0) {
      i += __builtin_ctzll(quotes);
      break;
    }
  }
  *non_ascii |= high != 0;
  return i < n ? i : n;
}

// The helpers of Next below are forced inline: Next's counters and current block must stay in
// registers across them, as they did when it was one function (the bench_careplan figures).

inline uint64_t CsvReader::PendingFrom(size_t from, Block* block) const {
  if (from >= data_.size()) return 0;
  MoveTo(from, block);
  return (block->stop | block->non_ascii) & (~uint64_t{0} << (from - block->offset));
}

[[gnu::always_inline]] inline size_t CsvReader::ReadQuoted(size_t i, int line, int field,
                                                           Block* block, int* line_feeds,
                                                           bool* non_ascii,
                                                           absl::string_view* value) {
  const char* d = data_.data();
  const size_t n = data_.size();
  // Unescaped into the scratch buffer only when a doubled quote occurs.
  const size_t start = ++i;
  size_t segment = start;  // not yet copied to scratch_ (when escaped)
  size_t content_end = n;
  bool escaped = false;
  const size_t scratch_start = scratch_.size();
  while (true) {
    const size_t end = FindQuote(i, block, line_feeds, non_ascii);
    if (end == n) {
      AddIssue(CsvIssue::kUnterminatedQuote, line, field);
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
  while (i < n && d[i] != ',' && d[i] != '\n' && !(d[i] == '\r' && i + 1 < n && d[i + 1] == '\n')) {
    *non_ascii |= static_cast<unsigned char>(d[i]) >= 0x80;
    ++i;
  }
  size_t offset = scratch_start;
  if (i > after) {
    AddIssue(CsvIssue::kTextAfterQuote, line, field);
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
    *value = absl::string_view();
  } else {
    *value = absl::string_view(d + start, content_end - start);
  }
  return i;
}

[[gnu::always_inline]] inline size_t CsvReader::ReadUnquoted(size_t i, int line, int field,
                                                             Block* block, uint64_t* pending,
                                                             bool* non_ascii) {
  const char* d = data_.data();
  const size_t n = data_.size();
  uint64_t bits = *pending;
  // Once non-ASCII is noted, the field's other such bytes (before its end) leave `bits`.
  auto pass_non_ascii = [&] { bits &= block->stop | ~BelowLowest(bits & block->stop); };
  while (i < n) {
    if (bits == 0) {
      const size_t next = block->offset + kBlock;
      if (next >= n) {
        i = n;
        break;
      }
      MoveTo(next, block);
      bits = block->stop | block->non_ascii;
      if (*non_ascii) pass_non_ascii();
      continue;
    }
    i = block->offset + __builtin_ctzll(bits);
    bits &= bits - 1;
    const char c = d[i];
    if (c == ',' || c == '\n') break;
    if (c == '"') {
      AddIssue(CsvIssue::kStrayQuote, line, field);
    } else if (c == '\r') {
      if (i + 1 < n && d[i + 1] == '\n') break;  // CRLF; a CR alone is kept
    } else {
      *non_ascii = true;
      pass_non_ascii();
    }
  }
  *pending = bits;
  return i;
}

// One pass over the record's bytes. Fields point into the data, except those unescaped into
// scratch_ (a doubled quote, text after a closing quote): as scratch_ may still grow while the
// record is read, those get a null view and an entry in spans_, and their views are set at the
// end. Counters and the current block live in locals so the compiler keeps them in registers.
//
// An unquoted field ends at the lowest bit of `pending`: the bytes of the block from the
// field's start on that are a stop or non-ASCII (rare in an unquoted field: noted, passed over).
// After a comma, the next field's bits are the rest; after a quoted field they are taken anew.
bool CsvReader::Next(CsvRecord* record) {
  const char* d = data_.data();
  const size_t n = data_.size();
  size_t i = pos_;
  if (i >= n || stop_ != CsvStop::kNone) return false;
  const int line = line_;
  if (records_ == limits_.max_records) {
    stop_ = CsvStop::kRecords;
    stop_line_ = line;
    return false;
  }
  ++records_;
  int line_feeds = 0;
  Block block = block_;
  uint64_t pending = PendingFrom(i, &block);
  record->line = line;
  std::vector<CsvField>& fields = record->fields;
  size_t count = 0;
  size_t size = fields.size();
  scratch_.clear();
  spans_.clear();
  auto add = [&](absl::string_view value, bool quoted, bool non_ascii) {
    if (count == size) {
      fields.emplace_back();
      ++size;
    }
    CsvField& f = fields[count++];
    f.value = value;
    f.quoted = quoted;
    f.ascii = !non_ascii;
  };
  while (true) {
    if (count == static_cast<size_t>(limits_.max_fields)) {  // another field follows a comma
      stop_ = CsvStop::kFields;
      stop_line_ = line;
      pos_ = n;
      fields.resize(count);
      return false;
    }
    int field = static_cast<int>(count) + 1;
    // Whether the field's bytes as written hold one of 0x80 or above: its value's differ from
    // them only by ASCII quotes.
    bool non_ascii = false;
    if (i < n && d[i] == '"') {
      absl::string_view value;
      i = ReadQuoted(i, line, field, &block, &line_feeds, &non_ascii, &value);
      add(value, true, non_ascii);
      pending = PendingFrom(i + 1, &block);  // past the separator
    } else {
      const size_t start = i;
      i = ReadUnquoted(i, line, field, &block, &pending, &non_ascii);
      add(absl::string_view(d + start, i - start), false, non_ascii);
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
  block_ = block;
  fields.resize(count);
  if (stop_ != CsvStop::kNone) return false;           // too many issues in this record
  for (size_t j = 0, k = 0; k < spans_.size(); ++j) {  // stops after the last one in scratch_
    CsvField& f = fields[j];
    if (f.value.data() != nullptr) continue;
    const Span& s = spans_[k++];
    f.value = absl::string_view(scratch_.data() + s.offset, s.size);
  }
  return true;
}

}  // namespace kaigo::careplan

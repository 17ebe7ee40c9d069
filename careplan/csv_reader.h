// The standard's CSV syntax over raw MS932 bytes (shared/reference/careplan-csv-4.1.md §6): comma
// separated; a quoted field keeps commas and line breaks and doubles its quotes; records end in
// CRLF or LF. Scanning bytes is safe in MS932: its trail bytes never take the values of '"', ',',
// CR or LF. A UTF-8 byte-order mark at the start is skipped and reported.
//
// The data is scanned 64 bytes at a time (SSE2 on x86-64, plain C++ elsewhere) into bit masks of
// the bytes that matter, and a field is found from those masks; the same masks tell whether it
// holds any byte of 0x80 or above, so callers skip the MS932 scan of pure ASCII.
//
// What one file may make the reader hold is bounded (CsvLimits): past a limit the reader stops,
// Next returns false and stopped() says which limit and where, so a caller reports one finding
// and no more — a comma bomb or a line of stray quotes costs a bounded amount of memory.
//
// Not thread-safe; one reader per buffer. The buffer must outlive the reader.
#ifndef KAIGO_CAREPLAN_CSV_READER_H_
#define KAIGO_CAREPLAN_CSV_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace kaigo::careplan {

struct CsvField {
  absl::string_view value;  // unescaped; valid until the next Next()
  bool quoted = false;
  bool ascii = true;  // no byte of 0x80 or above: no two-byte MS932 character, no half-width kana
};

// A syntax irregularity the reader recovered from.
struct CsvIssue {
  enum Kind {
    kStrayQuote,         // a '"' inside an unquoted field (kept as a character)
    kTextAfterQuote,     // characters between a closing quote and the next comma (kept)
    kUnterminatedQuote,  // the data ends inside a quoted field (the field runs to the end)
  };
  Kind kind;
  int line;
  int field;  // 1-based
};

// Bounds on one file (the figures' reasons: csv_reader.cc). A record holds at most max_fields
// fields (24 bytes each), the reader at most max_issues issues (12 bytes each).
struct CsvLimits {
  int max_fields = 512;      // per record
  int max_records = 200000;  // per file, blank lines and a header row included
  int max_issues = 1000;     // syntax irregularities per file
};

// Why the reader stopped before the end of the data.
enum class CsvStop { kNone, kFields, kRecords, kIssues };

struct CsvRecord {
  int line = 0;  // 1-based line where the record starts
  std::vector<CsvField> fields;
  bool blank() const { return fields.size() == 1 && fields[0].value.empty() && !fields[0].quoted; }
};

class CsvReader {
 public:
  explicit CsvReader(absl::string_view data, CsvLimits limits = {});

  // False at the end of the data, or once a limit is passed (see stopped()).
  bool Next(CsvRecord* record);

  // The limit that stopped the reader, kNone if none did; stop_line() is the line of the record
  // that passed it.
  CsvStop stopped() const { return stop_; }
  int stop_line() const { return stop_line_; }
  const CsvLimits& limits() const { return limits_; }

  bool had_bom() const { return had_bom_; }
  int crlf_count() const { return crlf_; }
  int lf_count() const { return lf_; }
  // The last record was not followed by a line ending.
  bool last_line_unterminated() const { return unterminated_; }
  const std::vector<CsvIssue>& issues() const { return issues_; }

 private:
  // One bit per byte of the 64 bytes at `offset` in the data, bit k for byte offset + k; bits
  // past the end of the data are zero.
  struct Block {
    size_t offset = SIZE_MAX;  // never a block's, which is a multiple of 64
    uint64_t stop = 0;         // ',', '"', CR, LF: where an unquoted field may end
    uint64_t quote = 0;
    uint64_t line_feed = 0;
    uint64_t non_ascii = 0;  // 0x80 and above
  };
  // Sets the masks of `block` from its 64 bytes at p.
  static void ScanBlock(const char* p, Block* block);
  // *block becomes the block holding offset i, unless it is already.
  void MoveTo(size_t i, Block* block) const;
  // The offset of the first '"' at or after i, or the data's size. Adds the LFs before it to
  // *line_feeds, and sets *non_ascii if a byte of 0x80 or above lies before it.
  size_t FindQuote(size_t i, Block* block, int* line_feeds, bool* non_ascii) const;

  // The stop and non-ASCII bits of the data at `from` and after (none past the end); *block
  // becomes the block holding `from`.
  uint64_t PendingFrom(size_t from, Block* block) const;
  // A quoted field of record `line` from its opening quote at i: up to the next quote not
  // doubled, then anything before the next separator (kept, reported). Returns the separator's
  // offset (or the data's size). *value is a view into the data, or a null view with an entry in
  // spans_ when the value was unescaped into scratch_.
  size_t ReadQuoted(size_t i, int line, int field, Block* block, int* line_feeds, bool* non_ascii,
                    absl::string_view* value);
  // An unquoted field from i to the next ',', LF or CRLF, whose offset it returns (or the data's
  // size). *pending holds the stop and non-ASCII bits from i on, as Next keeps them.
  size_t ReadUnquoted(size_t i, int line, int field, Block* block, uint64_t* pending,
                      bool* non_ascii);

  struct Span {
    size_t offset;
    size_t size;
    bool in_scratch;
    bool quoted;
  };

  // Records an issue unless max_issues are held already; then marks the reader stopped.
  void AddIssue(CsvIssue::Kind kind, int line, int field);

  absl::string_view data_;
  CsvLimits limits_;
  CsvStop stop_ = CsvStop::kNone;
  int stop_line_ = 0;
  int records_ = 0;
  size_t pos_ = 0;
  int line_ = 1;
  bool had_bom_ = false;
  bool unterminated_ = false;
  int crlf_ = 0;
  int lf_ = 0;
  Block block_;  // where the last record ended
  std::string scratch_;
  std::vector<Span> spans_;
  std::vector<CsvIssue> issues_;
};

}  // namespace kaigo::careplan

#endif  // KAIGO_CAREPLAN_CSV_READER_H_

#include "careplan/csv_reader.h"

#include <cstring>

namespace kaigo::careplan {

CsvReader::CsvReader(absl::string_view data) : data_(data) {
  if (data_.size() >= 3 && data_.substr(0, 3) == "\xEF\xBB\xBF") {
    had_bom_ = true;
    pos_ = 3;
  }
}

bool CsvReader::Next(CsvRecord* record) {
  if (pos_ >= data_.size()) return false;
  record->line = line_;
  spans_.clear();
  scratch_.clear();
  const char* d = data_.data();
  const size_t n = data_.size();
  size_t i = pos_;
  bool end_of_record = false;
  while (!end_of_record) {
    int field = static_cast<int>(spans_.size()) + 1;
    if (i < n && d[i] == '"') {
      // Quoted: runs to the next quote not doubled. Unescaped into the scratch buffer only
      // when a doubled quote occurs.
      size_t start = ++i;
      size_t scratch_start = scratch_.size();
      bool escaped = false;
      while (true) {
        const void* q = i < n ? memchr(d + i, '"', n - i) : nullptr;
        size_t end = q == nullptr ? n : static_cast<const char*>(q) - d;
        for (size_t k = i; k < end; ++k) line_ += d[k] == '\n';
        if (q == nullptr) {
          issues_.push_back({CsvIssue::kUnterminatedQuote, record->line, field});
          if (escaped) scratch_.append(d + i, end - i);
          i = n;
          break;
        }
        if (end + 1 < n && d[end + 1] == '"') {
          if (!escaped)
            scratch_.append(d + start, end - start);
          else
            scratch_.append(d + i, end - i);
          scratch_.push_back('"');
          escaped = true;
          i = end + 2;
          continue;
        }
        if (escaped) scratch_.append(d + i, end - i);
        i = end + 1;
        if (escaped) {
          spans_.push_back({scratch_start, scratch_.size() - scratch_start, true, true});
        } else {
          spans_.push_back({start, end - start, false, true});
        }
        break;
      }
      if (i >= n && spans_.size() < static_cast<size_t>(field)) {
        spans_.push_back(escaped ? Span{scratch_start, scratch_.size() - scratch_start, true, true}
                                 : Span{start, n - start, false, true});
      }
      // Anything up to the next separator is kept, reported.
      size_t after = i;
      while (i < n && d[i] != ',' && d[i] != '\n' &&
             !(d[i] == '\r' && i + 1 < n && d[i + 1] == '\n')) {
        ++i;
      }
      if (i > after) {
        issues_.push_back({CsvIssue::kTextAfterQuote, record->line, field});
        Span& s = spans_.back();
        if (!s.in_scratch) {
          size_t begin = s.offset;
          s = {scratch_.size(), 0, true, true};
          scratch_.append(d + begin, after - 1 - begin);
        }
        scratch_.append(d + after, i - after);
        s.size = scratch_.size() - s.offset;
      }
    } else {
      size_t start = i;
      while (i < n) {
        char c = d[i];
        if (c == ',' || c == '\n') break;
        if (c == '\r' && i + 1 < n && d[i + 1] == '\n') break;
        if (c == '"') issues_.push_back({CsvIssue::kStrayQuote, record->line, field});
        ++i;
      }
      spans_.push_back({start, i - start, false, false});
    }
    if (i >= n) {
      unterminated_ = true;
      end_of_record = true;
    } else if (d[i] == ',') {
      ++i;
    } else {
      if (d[i] == '\r') {
        ++crlf_;
        i += 2;
      } else {
        ++lf_;
        ++i;
      }
      ++line_;
      end_of_record = true;
    }
  }
  pos_ = i;
  record->fields.resize(spans_.size());
  for (size_t k = 0; k < spans_.size(); ++k) {
    const Span& s = spans_[k];
    record->fields[k].value =
        absl::string_view((s.in_scratch ? scratch_.data() : d) + s.offset, s.size);
    record->fields[k].quoted = s.quoted;
  }
  return true;
}

}  // namespace kaigo::careplan

#include "mail_message.h"

#include <iconv.h>

#include <cerrno>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace kaigo::plugins::otp_mailbox {

namespace {

constexpr int kMaxDepth = 4;  // nested multiparts

// Debian's abseil has its own string_view.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

struct Part {
  std::map<std::string, std::string> headers;  // lower-case names, unfolded values
  std::string_view body;
};

Part SplitPart(std::string_view raw) {
  Part part;
  size_t end = raw.find("\r\n\r\n");
  size_t skip = 4;
  size_t lf = raw.find("\n\n");
  if (lf != std::string_view::npos && (end == std::string_view::npos || lf < end)) {
    end = lf;
    skip = 2;
  }
  std::string_view head = end == std::string_view::npos ? raw : raw.substr(0, end);
  part.body = end == std::string_view::npos ? std::string_view() : raw.substr(end + skip);
  std::string name, value;
  auto flush = [&] {
    if (!name.empty() && !part.headers.count(name)) {
      part.headers[name] = std::string(absl::StripAsciiWhitespace(value));
    }
    name.clear();
    value.clear();
  };
  size_t at = 0;
  while (at <= head.size()) {
    size_t nl = head.find('\n', at);
    std::string_view line =
        head.substr(at, nl == std::string_view::npos ? head.size() - at : nl - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      value += " ";
      value += std::string(absl::StripAsciiWhitespace(A(line)));
    } else {
      flush();
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(A(line.substr(0, colon))));
        value = std::string(line.substr(colon + 1));
      }
    }
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  flush();
  return part;
}

std::string Header(const Part& p, const char* name) {
  auto it = p.headers.find(name);
  return it == p.headers.end() ? "" : it->second;
}

// The parameter `key` of a header value such as `text/plain; charset="UTF-8"`.
std::string Parameter(const std::string& value, const char* key) {
  std::string lower = absl::AsciiStrToLower(value);
  std::string needle = absl::StrCat(key, "=");
  size_t at = 0;
  while ((at = lower.find(needle, at)) != std::string::npos) {
    if (at == 0 || lower[at - 1] == ';' || lower[at - 1] == ' ' || lower[at - 1] == '\t') break;
    ++at;
  }
  if (at == std::string::npos) return "";
  size_t start = at + needle.size();
  if (start < value.size() && value[start] == '"') {
    size_t close = value.find('"', start + 1);
    return value.substr(start + 1,
                        close == std::string::npos ? std::string::npos : close - start - 1);
  }
  size_t end = value.find_first_of("; \t", start);
  return value.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string QuotedPrintable(std::string_view in, bool header) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (header && c == '_') {
      out += ' ';
    } else if (c == '=' && i + 1 < in.size() && (in[i + 1] == '\n' || in[i + 1] == '\r')) {
      i += (in[i + 1] == '\r' && i + 2 < in.size() && in[i + 2] == '\n') ? 2 : 1;  // soft break
    } else if (c == '=' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string Base64(std::string_view in) {
  std::string compact;
  for (char c : in) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) compact += c;
  }
  std::string out;
  if (!absl::Base64Unescape(compact, &out)) return "";
  return out;
}

std::string Decoded(std::string_view body, const std::string& encoding) {
  std::string e = absl::AsciiStrToLower(encoding);
  if (e == "base64") return Base64(body);
  if (e == "quoted-printable") return QuotedPrintable(body, false);
  return std::string(body);
}

// The first text/plain part's text in UTF-8, or NOT_FOUND.
absl::StatusOr<std::string> TextOf(std::string_view raw, int depth) {
  Part part = SplitPart(raw);
  std::string type = Header(part, "content-type");
  std::string lower = absl::AsciiStrToLower(type);
  if (absl::StartsWith(lower, "multipart/")) {
    if (depth >= kMaxDepth) return absl::InvalidArgumentError("mail: multiparts nested too deep");
    std::string boundary = Parameter(type, "boundary");
    if (boundary.empty()) return absl::InvalidArgumentError("mail: a multipart without boundary");
    std::string delimiter = "--" + boundary;
    size_t at = part.body.find(delimiter);
    while (at != std::string_view::npos) {
      size_t start = part.body.find('\n', at);
      if (start == std::string_view::npos) break;
      size_t next = part.body.find(delimiter, start);
      std::string_view child = part.body.substr(
          start + 1, next == std::string_view::npos ? std::string_view::npos : next - start - 1);
      if (part.body.substr(at + delimiter.size(), 2) == "--") break;  // closing delimiter
      auto text = TextOf(child, depth + 1);
      if (text.ok() || text.status().code() != absl::StatusCode::kNotFound) return text;
      at = next;
    }
    return absl::NotFoundError("mail: no text/plain part");
  }
  if (!lower.empty() && !absl::StartsWith(lower, "text/plain")) {
    return absl::NotFoundError("mail: not text/plain");
  }
  std::string charset = Parameter(type, "charset");
  std::string bytes = Decoded(part.body, Header(part, "content-transfer-encoding"));
  return ToUtf8(bytes, charset.empty() ? "US-ASCII" : charset);
}

std::optional<int64_t> ParseDate(std::string value) {
  size_t paren = value.find('(');  // "+0900 (JST)"
  if (paren != std::string::npos) value = value.substr(0, paren);
  value = std::string(absl::StripAsciiWhitespace(value));
  absl::Time t;
  std::string err;
  for (const char* format : {"%a, %d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M:%S %z",
                             "%a, %d %b %Y %H:%M:%S GMT", "%a, %d %b %Y %H:%M %z"}) {
    if (absl::ParseTime(format, value, &t, &err)) return absl::ToUnixSeconds(t);
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::string> ToUtf8(std::string_view bytes, std::string_view charset) {
  std::string cs = absl::AsciiStrToUpper(A(charset));
  if (cs == "UTF-8" || cs == "UTF8" || cs == "US-ASCII" || cs == "ASCII") return std::string(bytes);
  iconv_t cd = iconv_open("UTF-8", cs.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return absl::InvalidArgumentError("mail: unknown charset '" + std::string(charset) + "'");
  }
  std::string in(bytes), out(bytes.size() * 4 + 16, '\0');
  char* src = in.data();
  size_t src_left = in.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
  if (rc != static_cast<size_t>(-1))
    rc = iconv(cd, nullptr, nullptr, &dst, &dst_left);  // shift back
  iconv_close(cd);
  if (rc == static_cast<size_t>(-1)) {
    return absl::InvalidArgumentError("mail: bytes that are not " + std::string(charset));
  }
  out.resize(out.size() - dst_left);
  return out;
}

std::string DecodeHeader(std::string_view value) {
  std::string out;
  size_t at = 0;
  bool last_encoded = false;
  while (at < value.size()) {
    size_t start = value.find("=?", at);
    size_t q1 = start == std::string_view::npos ? start : value.find('?', start + 2);
    size_t q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
    size_t end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
    if (end == std::string_view::npos) {
      out.append(value.substr(at));
      break;
    }
    std::string_view between = value.substr(at, start - at);
    // Whitespace between two encoded words is not part of the text (RFC 2047 §6.2).
    if (!(last_encoded && absl::StripAsciiWhitespace(A(between)).empty())) out.append(between);
    std::string_view charset = value.substr(start + 2, q1 - start - 2);
    char encoding =
        static_cast<char>(absl::ascii_toupper(q1 + 1 < value.size() ? value[q1 + 1] : ' '));
    std::string_view text = value.substr(q2 + 1, end - q2 - 1);
    std::string bytes = encoding == 'B' ? Base64(text) : QuotedPrintable(text, true);
    auto utf8 = ToUtf8(bytes, charset.substr(0, charset.find('*')));  // drop an RFC 2231 language
    out += utf8.ok() ? *utf8 : std::string(value.substr(start, end + 2 - start));
    last_encoded = true;
    at = end + 2;
  }
  return out;
}

absl::StatusOr<MailMessage> ParseMail(std::string_view raw) {
  if (raw.empty()) return absl::InvalidArgumentError("mail: empty");
  Part part = SplitPart(raw);
  if (part.headers.empty()) return absl::InvalidArgumentError("mail: no headers");
  MailMessage m;
  m.subject = DecodeHeader(Header(part, "subject"));
  m.from = DecodeHeader(Header(part, "from"));
  m.date = ParseDate(Header(part, "date"));
  auto text = TextOf(raw, 0);
  if (!text.ok()) return text.status();
  m.text = *std::move(text);
  return m;
}

absl::StatusOr<std::string> ExtractOtp(std::string_view text) {
  // Full-width digits (U+FF10–FF19: EF BC 90–99) count as digits.
  std::string plain;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0xEF && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xBC &&
        static_cast<unsigned char>(text[i + 2]) >= 0x90 &&
        static_cast<unsigned char>(text[i + 2]) <= 0x99) {
      plain += static_cast<char>('0' + static_cast<unsigned char>(text[i + 2]) - 0x90);
      i += 2;
    } else {
      plain += static_cast<char>(c);
    }
  }
  auto runs = [&](size_t from) {
    std::vector<std::string> found;
    for (size_t i = from; i < plain.size();) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(plain[i]))) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < plain.size() && absl::ascii_isdigit(static_cast<unsigned char>(plain[j]))) ++j;
      if (j - i >= 4 && j - i <= 8) found.push_back(plain.substr(i, j - i));
      i = j;
    }
    return found;
  };
  for (const char* label : {"ワンタイムパスワード", "パスワード"}) {
    size_t at = plain.find(label);
    if (at == std::string::npos) continue;
    auto after = runs(at);
    if (!after.empty()) return after.front();
  }
  auto all = runs(0);
  if (all.size() == 1) return all.front();
  return absl::NotFoundError(all.empty() ? "mail: no code of 4 to 8 digits in the text"
                                         : "mail: several numbers and no label to tell the code");
}

}  // namespace kaigo::plugins::otp_mailbox

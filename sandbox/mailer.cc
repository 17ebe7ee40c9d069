#include "sandbox/mailer.h"

#include <fcntl.h>
#include <iconv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace kaigo::sandbox {

namespace {

std::string FromUtf8(const std::string& text, const char* charset) {
  iconv_t cd = iconv_open(charset, "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) return text;
  std::string in = text, out(text.size() * 4 + 16, '\0');
  char* src = in.data();
  size_t src_left = in.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  iconv(cd, &src, &src_left, &dst, &dst_left);
  iconv(cd, nullptr, nullptr, &dst, &dst_left);  // back to ASCII at the end
  iconv_close(cd);
  out.resize(out.size() - dst_left);
  return out;
}

std::string Wrap76(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i += 76) absl::StrAppend(&out, s.substr(i, 76), "\r\n");
  return out;
}

std::string QuotedPrintable(const std::string& s) {
  std::string out;
  int column = 0;
  for (unsigned char c : s) {
    std::string piece;
    if (c == '\n') {
      out += "\r\n";
      column = 0;
      continue;
    }
    if ((c >= 33 && c <= 126 && c != '=') || c == ' ') {
      piece = std::string(1, static_cast<char>(c));
    } else {
      piece = absl::StrCat("=", absl::AsciiStrToUpper(absl::BytesToHexString(std::string(1, c))));
    }
    if (column + piece.size() > 75) {
      out += "=\r\n";
      column = 0;
    }
    out += piece;
    column += static_cast<int>(piece.size());
  }
  return out;
}

std::string Crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

}  // namespace

std::string Mailer::Compose(const std::string& to, const std::string& from,
                            const std::string& subject, const std::string& text,
                            int variant) const {
  bool jis = variant < 2;
  std::string encoded_subject =
      jis ? absl::StrCat("=?ISO-2022-JP?B?", absl::Base64Escape(FromUtf8(subject, "ISO-2022-JP")),
                         "?=")
          : absl::StrCat("=?UTF-8?B?", absl::Base64Escape(subject), "?=");
  std::string date = absl::FormatTime("%a, %d %b %Y %H:%M:%S %z", absl::FromUnixSeconds(now_()),
                                      absl::FixedTimeZone(9 * 3600));
  std::string id = absl::StrCat(now_(), ".", next_.load(), "@mail.kaigo-kiban-portal.jp");
  std::string head =
      absl::StrCat("From: ", from, "\r\nTo: ", to, "\r\nSubject: ", encoded_subject,
                   "\r\nDate: ", date, "\r\nMessage-ID: <", id, ">\r\nMIME-Version: 1.0\r\n");
  switch (variant) {
    case 0:
      return absl::StrCat(head, "Content-Type: text/plain; charset=ISO-2022-JP\r\n",
                          "Content-Transfer-Encoding: 7bit\r\n\r\n",
                          Crlf(FromUtf8(text, "ISO-2022-JP")));
    case 1:
      return absl::StrCat(head, "Content-Type: text/plain; charset=\"iso-2022-jp\"\r\n",
                          "Content-Transfer-Encoding: base64\r\n\r\n",
                          Wrap76(absl::Base64Escape(FromUtf8(text, "ISO-2022-JP"))));
    case 2:
      return absl::StrCat(head, "Content-Type: text/plain; charset=UTF-8\r\n",
                          "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                          QuotedPrintable(text));
    default: {
      std::string boundary = "=_kaigo_" + std::to_string(now_());
      return absl::StrCat(
          head, "Content-Type: multipart/alternative; boundary=\"", boundary, "\"\r\n\r\n",
          "This is a multi-part message in MIME format.\r\n--", boundary,
          "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
          "base64\r\n\r\n",
          Wrap76(absl::Base64Escape(text)), "--", boundary,
          "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: "
          "quoted-printable\r\n\r\n",
          QuotedPrintable("<html><body><pre>" + text + "</pre></body></html>"), "\r\n--", boundary,
          "--\r\n");
    }
  }
}

absl::Status Mailer::Send(const std::string& to, const std::string& from,
                          const std::string& subject, const std::string& text) {
  int variant = next_.fetch_add(1) % 4;
  std::string message = Compose(to, from, subject, text, variant);
  std::filesystem::path box = std::filesystem::path(root_) / to;
  std::error_code ec;
  // Open to every user: the test IMAP server reads and moves the mail as an unprivileged user.
  constexpr auto kOpen = std::filesystem::perms::all;
  for (const char* sub : {"tmp", "new", "cur"}) {
    std::filesystem::create_directories(box / sub, ec);
    std::filesystem::permissions(box / sub, kOpen, ec);
  }
  std::filesystem::permissions(box, kOpen, ec);
  if (ec) return absl::UnavailableError("mail: cannot create " + box.string());
  std::string name = absl::StrCat(now_(), ".", getpid(), "_", next_.load(), ".kaigo-sandbox");
  std::filesystem::path tmp = box / "tmp" / name;
  {
    std::ofstream out(tmp, std::ios::binary);
    out << message;
    if (!out) return absl::UnavailableError("mail: cannot write " + tmp.string());
  }
  std::filesystem::permissions(
      tmp,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
          std::filesystem::perms::group_read | std::filesystem::perms::group_write |
          std::filesystem::perms::others_read | std::filesystem::perms::others_write,
      ec);
  // A Maildir's delivery time (IMAP's INTERNALDATE, what SEARCH SINCE reads) is the file's
  // modification time: the sandbox's clock, as the platform's mail server would stamp it.
  struct timespec times[2] = {{static_cast<time_t>(now_()), 0}, {static_cast<time_t>(now_()), 0}};
  utimensat(AT_FDCWD, tmp.c_str(), times, 0);
  std::filesystem::rename(tmp, box / "new" / name, ec);
  if (ec) return absl::UnavailableError("mail: cannot deliver into " + box.string());
  return absl::OkStatus();
}

}  // namespace kaigo::sandbox

#include "kaigo/sdk/api_release.h"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kaigo::sdk {

namespace {

constexpr std::string_view kProtoSonamePrefix = "libkaigo_proto.so.";

// Debian 12's Abseil does not take std::string_view for its own.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

template <class T>
bool ReadAt(std::string_view image, uint64_t offset, T* out) {
  if (offset > image.size() || image.size() - offset < sizeof(T)) return false;
  std::memcpy(out, image.data() + offset, sizeof(T));
  return true;
}

// The file offset of virtual address `address`, through the PT_LOAD segments.
std::optional<uint64_t> FileOffset(const std::vector<Elf64_Phdr>& segments, uint64_t address) {
  for (const auto& p : segments) {
    if (p.p_type == PT_LOAD && address >= p.p_vaddr && address - p.p_vaddr < p.p_filesz) {
      return address - p.p_vaddr + p.p_offset;
    }
  }
  return std::nullopt;
}

std::string Rebuild(std::string_view plugin, std::string_view built, std::string_view host) {
  return absl::StrCat("plugin \"", A(plugin), "\" was built against kaigo API ", A(built), "; ",
                      A(host), " serves kaigo API ", A(kApiRelease), " (", A(kProtoSoname),
                      ") — rebuild the plugin with the kaigo SDK ", A(kSdkVersion));
}

}  // namespace

std::optional<ApiRelease> ParseApiRelease(std::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(A(text), '.');
  if (parts.size() != 3) return std::nullopt;
  int numbers[3];
  for (int i = 0; i < 3; ++i) {
    if (parts[i].empty() || parts[i].find_first_not_of("0123456789") != absl::string_view::npos ||
        !absl::SimpleAtoi(parts[i], &numbers[i])) {
      return std::nullopt;
    }
  }
  return ApiRelease{numbers[0], numbers[1], numbers[2]};
}

absl::StatusOr<std::vector<std::string>> NeededLibraries(std::string_view image) {
  auto invalid = [](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("not an ELF shared object: ", A(why)));
  };
  Elf64_Ehdr header;
  if (!ReadAt(image, 0, &header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    return invalid("no ELF header");
  }
  constexpr unsigned char kNativeData =
      __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != kNativeData) {
    return invalid("not 64-bit in this machine's byte order");
  }
  if (header.e_phentsize < sizeof(Elf64_Phdr)) return invalid("bad program header size");
  std::vector<Elf64_Phdr> segments;
  const Elf64_Phdr* dynamic = nullptr;
  for (uint64_t i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr p;
    if (!ReadAt(image, header.e_phoff + i * header.e_phentsize, &p)) {
      return invalid("program headers past the end");
    }
    segments.push_back(p);
  }
  for (const auto& p : segments) {
    if (p.p_type == PT_DYNAMIC) dynamic = &p;
  }
  std::vector<std::string> needed;
  if (dynamic == nullptr) return needed;

  std::vector<uint64_t> name_offsets;
  std::optional<uint64_t> strtab;
  uint64_t strsz = 0;
  for (uint64_t at = 0; at + sizeof(Elf64_Dyn) <= dynamic->p_filesz; at += sizeof(Elf64_Dyn)) {
    Elf64_Dyn entry;
    if (!ReadAt(image, dynamic->p_offset + at, &entry)) return invalid("dynamic section truncated");
    if (entry.d_tag == DT_NULL) break;
    if (entry.d_tag == DT_NEEDED) name_offsets.push_back(entry.d_un.d_val);
    if (entry.d_tag == DT_STRTAB) strtab = FileOffset(segments, entry.d_un.d_ptr);
    if (entry.d_tag == DT_STRSZ) strsz = entry.d_un.d_val;
  }
  if (name_offsets.empty()) return needed;
  if (!strtab.has_value() || *strtab > image.size() || image.size() - *strtab < strsz) {
    return invalid("string table outside the file");
  }
  std::string_view strings = image.substr(*strtab, strsz);
  for (uint64_t offset : name_offsets) {
    if (offset >= strings.size()) return invalid("library name outside the string table");
    size_t end = strings.find('\0', offset);
    if (end == std::string_view::npos) return invalid("library name not terminated");
    needed.emplace_back(strings.substr(offset, end - offset));
  }
  return needed;
}

absl::Status CheckLinkedApiRelease(std::string_view plugin, const std::string& path,
                                   std::string_view host) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::OkStatus();  // the loader names a file it cannot read
  std::string image{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto needed = NeededLibraries(image);
  if (!needed.ok()) return absl::OkStatus();
  for (const std::string& library : *needed) {
    if (library.rfind(kProtoSonamePrefix, 0) != 0 || library == kProtoSoname) continue;
    std::string_view built = std::string_view(library).substr(kProtoSonamePrefix.size());
    return absl::FailedPreconditionError(
        Rebuild(plugin, absl::StrCat(A(built), " (", library, ")"), host));
  }
  return absl::OkStatus();
}

absl::Status CheckManifestApiRelease(std::string_view plugin, std::string_view api_release,
                                     std::string_view host) {
  if (api_release.empty()) return absl::OkStatus();
  std::optional<ApiRelease> built = ParseApiRelease(api_release);
  std::optional<ApiRelease> served = ParseApiRelease(kApiRelease);
  if (built.has_value() && built->major == served->major && built->minor == served->minor) {
    return absl::OkStatus();
  }
  if (!built.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "plugin \"", A(plugin), "\" names kaigo API release \"", A(api_release),
        "\" in its manifest, which is not MAJOR.MINOR.PATCH; ", A(host), " serves kaigo API ",
        A(kApiRelease), " — rebuild the plugin with the kaigo SDK ", A(kSdkVersion)));
  }
  return absl::FailedPreconditionError(
      Rebuild(plugin,
              absl::StrCat(A(api_release), " (", A(kProtoSonamePrefix), built->major, ".",
                           built->minor, ")"),
              host));
}

}  // namespace kaigo::sdk

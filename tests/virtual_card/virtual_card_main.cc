// kaigo-virtual-card: a My Number card (mynumber_card.h) inserted into pcscd's vpcd reader.
//
//   kaigo-virtual-card --port 35963 --dir DIR --cn CN
//                      [--pin 1234] [--info-pin 1234] [--name N] [--address A] [--birth YYYYMMDD]
//                      [--sex 1|2|9] [--my-number 12 digits] [--die-after-apdus N]
//
// DIR holds the test JPKI that `kaigo-sandbox make-certs` writes: jpki-ca.crt and the card's
// jpki-card-CN.crt / jpki-card-CN.key.
//
// Connects to vpcd on 127.0.0.1:PORT (retrying while pcscd starts): the connection is the card
// in the reader; exiting removes it. --die-after-apdus exits after that many APDUs, to pull the
// card out in the middle of an operation. Speaks vpcd's framing (2-byte big-endian length +
// payload): 04 → the ATR; 00/01/02 (power off/on/reset) → no reply, security state cleared;
// anything longer is a C-APDU answered with its R-APDU. TCP_QUICKACK is set before every recv():
// Debian's vpcd sends length and payload separately, and without it each waits for a delayed ACK
// (40 ms; reference B6 P1).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "tests/virtual_card/mynumber_card.h"

namespace {

bool ReceiveExactly(int fd, char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);  // not sticky: every time
    ssize_t r = recv(fd, out + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

bool SendMessage(int fd, const std::string& payload) {
  if (payload.size() > 0xFFFF) return false;
  std::string frame = {static_cast<char>(payload.size() >> 8),
                       static_cast<char>(payload.size() & 0xFF)};
  frame += payload;  // one send(): length and payload travel together
  return send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  auto flag = [&](const char* name, const std::string& fallback) {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  };
  auto loaded = kaigo::testing::ProfileFromFiles(flag("--dir", "."), flag("--cn", ""));
  if (!loaded.ok()) {
    std::cerr << "kaigo-virtual-card: " << loaded.status().message() << "\n";
    return 2;
  }
  kaigo::testing::CardProfile profile = *std::move(loaded);
  profile.auth_pin = flag("--pin", profile.auth_pin);
  profile.info_pin = flag("--info-pin", profile.info_pin);
  profile.name = flag("--name", profile.name);
  profile.address = flag("--address", profile.address);
  profile.birth_date = flag("--birth", profile.birth_date);
  profile.sex = flag("--sex", profile.sex);
  profile.my_number = flag("--my-number", profile.my_number);
  auto card = kaigo::testing::MyNumberCard::Create(profile);
  if (!card.ok()) {
    std::cerr << "kaigo-virtual-card: " << card.status().message() << "\n";
    return 2;
  }
  int port = std::stoi(flag("--port", "35963"));
  int die_after = std::stoi(flag("--die-after-apdus", "0"));

  int fd = -1;
  for (;;) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cerr << "kaigo-virtual-card: inserted on port " << port << "\n";
  for (;;) {
    char length[2];
    if (!ReceiveExactly(fd, length, 2)) break;
    size_t n = static_cast<unsigned char>(length[0]) << 8 | static_cast<unsigned char>(length[1]);
    std::string payload(n, '\0');
    if (!ReceiveExactly(fd, payload.data(), n)) break;
    if (n == 1) {
      if (payload[0] == '\x04') {
        if (!SendMessage(fd, (*card)->atr())) break;
      } else {
        (*card)->PowerEvent();
      }
      continue;
    }
    if (die_after > 0 && (*card)->apdus() >= die_after) {
      std::cerr << "kaigo-virtual-card: pulled out after " << die_after << " APDUs\n";
      break;
    }
    if (!SendMessage(fd, (*card)->Process(payload))) break;
  }
  close(fd);
  return 0;
}

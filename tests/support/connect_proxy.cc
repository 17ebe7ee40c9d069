#include "tests/support/connect_proxy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"

namespace kaigo::testing {

namespace {

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

int ConnectTo(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return -1;
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConnectProxy>> ConnectProxy::Start(std::string credentials) {
  std::unique_ptr<ConnectProxy> proxy(new ConnectProxy());
  proxy->credentials_ = std::move(credentials);
  proxy->listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(proxy->listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(proxy->listener_, 16) != 0 ||
      getsockname(proxy->listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return absl::UnavailableError("the test proxy cannot listen");
  }
  proxy->port_ = ntohs(address.sin_port);
  ConnectProxy* self = proxy.get();
  proxy->acceptor_ = std::thread([self] { self->Accept(); });
  return proxy;
}

ConnectProxy::~ConnectProxy() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& t : threads_) t.join();
  if (listener_ >= 0) close(listener_);
}

std::vector<std::string> ConnectProxy::tunnels() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tunnels_;
}

void ConnectProxy::Accept() {
  while (!stopping_) {
    pollfd p{listener_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([this, client] { Serve(client); });
  }
}

void ConnectProxy::Serve(int client) {
  std::string request;
  char buf[16384];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
    pollfd p{client, POLLIN, 0};
    if (stopping_ || poll(&p, 1, 100) < 0) break;
    if (p.revents == 0) continue;
    ssize_t n = recv(client, buf, sizeof buf, 0);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  // CONNECT host:port HTTP/1.1
  size_t space = request.find(' '), second = request.find(' ', space + 1);
  std::string target = space == std::string::npos || second == std::string::npos
                           ? ""
                           : request.substr(space + 1, second - space - 1);
  size_t colon = target.rfind(':');
  int upstream = -1;
  if (!absl::StartsWith(request, "CONNECT ") || colon == std::string::npos) {
    SendAll(client, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
  } else if (!credentials_.empty() &&
             !absl::StrContains(request, "Proxy-Authorization: Basic " +
                                             absl::Base64Escape(credentials_) + "\r\n")) {
    ++refused_;
    SendAll(client,
            "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
            "realm=\"office\"\r\nContent-Length: 0\r\n\r\n");
  } else if ((upstream = ConnectTo(target.substr(0, colon), target.substr(colon + 1))) < 0) {
    SendAll(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
  } else {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tunnels_.push_back(target);
    }
    SendAll(client, "HTTP/1.1 200 Connection established\r\n\r\n");
    // Bytes that came after the request's head belong to the tunnel.
    SendAll(upstream, request.substr(request.find("\r\n\r\n") + 4));
    pollfd both[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    bool open = true;
    while (open && !stopping_) {
      if (poll(both, 2, 100) <= 0) continue;
      for (int i = 0; i < 2 && open; ++i) {
        if (both[i].revents == 0) continue;
        ssize_t n = recv(both[i].fd, buf, sizeof buf, 0);
        if (n <= 0)
          open = false;
        else
          SendAll(both[1 - i].fd, std::string(buf, static_cast<size_t>(n)));
      }
    }
    close(upstream);
  }
  close(client);
}

}  // namespace kaigo::testing

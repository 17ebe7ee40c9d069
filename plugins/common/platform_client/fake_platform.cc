#include "fake_platform.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "platform_client.h"

namespace kaigo::platform::testing {
namespace {

std::mutex current_mu;
FakePlatform* current = nullptr;

std::string WithoutQuery(const std::string& path) { return path.substr(0, path.find('?')); }

bool Matches(const std::string& pattern, const std::string& path) {
  if (!pattern.empty() && pattern.back() == '*') {
    return absl::StartsWith(path, pattern.substr(0, pattern.size() - 1));
  }
  return pattern == path;
}

}  // namespace

class FakePlatform::Client final : public PlatformApi {
 public:
  Client(FakePlatform* platform, ClientOptions options)
      : platform_(platform), options_(std::move(options)) {}

  absl::StatusOr<Response> Get(const std::string& path_and_query,
                               const RequestBounds& bounds) override {
    return Send("GET", path_and_query, "", "", nullptr, "", true, bounds);
  }
  absl::StatusOr<Response> Post(const std::string& path, const std::string& body,
                                const IdempotencyKey& key, const std::string& content_type,
                                const RequestBounds& bounds) override {
    return Send("POST", path, body, content_type, &key, "", true, bounds);
  }
  absl::StatusOr<Response> UnauthenticatedGet(const std::string& path, const std::string& header,
                                              const RequestBounds& bounds) override {
    return Send("GET", path, "", "", nullptr, header, false, bounds);
  }
  absl::StatusOr<Response> UnauthenticatedPost(const std::string& path, const std::string& body,
                                               const IdempotencyKey& key, const std::string& header,
                                               const RequestBounds& bounds) override {
    return Send("POST", path, body, "application/json", &key, header, false, bounds);
  }

 private:
  absl::StatusOr<Response> Send(const char* method, const std::string& path,
                                const std::string& body, const std::string& content_type,
                                const IdempotencyKey* key, const std::string& header,
                                bool authenticated, const RequestBounds& bounds) {
    PlatformRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.content_type = content_type;
    if (key != nullptr) r.idempotency_key = key->value();
    r.header = header;
    r.authenticated = authenticated;
    r.user_id = options_.user_id;
    r.deadline = bounds.deadline;
    return platform_->Answer(std::move(r), options_.base_url);
  }

  FakePlatform* platform_;
  const ClientOptions options_;
};

FakePlatform::FakePlatform() {
  std::lock_guard<std::mutex> lock(current_mu);
  previous_ = current;
  current = this;
}

FakePlatform::~FakePlatform() {
  std::lock_guard<std::mutex> lock(current_mu);
  if (current == this) current = previous_;
}

void FakePlatform::On(std::string method, std::string path, Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  scripts_.insert(scripts_.begin(), Script{std::move(method), std::move(path), std::move(handler)});
}

FakePlatform::Handler FakePlatform::Json(std::string body, long http_status) {
  return [body = std::move(body), http_status](const PlatformRequest&) -> absl::StatusOr<Response> {
    Response r;
    r.http_status = http_status;
    r.content_type = "application/json";
    r.body = body;
    return r;
  };
}

FakePlatform::Handler FakePlatform::InTurn(std::vector<Handler> answers) {
  auto next = std::make_shared<size_t>(0);
  auto mu = std::make_shared<std::mutex>();
  return [answers = std::move(answers), next, mu](const PlatformRequest& request) {
    size_t i;
    {
      std::lock_guard<std::mutex> lock(*mu);
      i = *next < answers.size() - 1 ? (*next)++ : answers.size() - 1;
    }
    return answers[i](request);
  };
}

absl::StatusOr<Response> FakePlatform::Answer(PlatformRequest request,
                                              const std::string& base_url) {
  const std::string path = WithoutQuery(request.path);
  Handler handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    for (const Script& s : scripts_) {
      if (s.method == request.method && Matches(s.path, path)) {
        handler = s.handler;
        break;
      }
    }
  }
  if (!handler) {
    return absl::UnimplementedError(
        absl::StrCat("fake platform: nothing scripted for ", request.method, " ", path));
  }
  absl::StatusOr<Response> answer = handler(request);
  if (!answer.ok()) return answer;
  absl::Status status = FromHttp(*answer, base_url + path);
  if (!status.ok()) return status;
  return answer;
}

std::vector<PlatformRequest> FakePlatform::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::vector<PlatformRequest> FakePlatform::Requests(const std::string& method,
                                                    const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PlatformRequest> found;
  for (const auto& r : requests_) {
    if (r.method == method && WithoutQuery(r.path) == path) found.push_back(r);
  }
  return found;
}

std::vector<std::string> FakePlatform::Users() const {
  std::lock_guard<std::mutex> lock(mu_);
  return users_;
}

ClientFactory FakePlatform::Factory() {
  return [this](const ClientOptions& options) -> absl::StatusOr<std::unique_ptr<PlatformApi>> {
    {
      std::lock_guard<std::mutex> lock(mu_);
      users_.push_back(options.user_id);
    }
    return std::make_unique<Client>(this, options);
  };
}

ClientFactory FakePlatform::CurrentFactory() {
  return [](const ClientOptions& options) -> absl::StatusOr<std::unique_ptr<PlatformApi>> {
    FakePlatform* platform;
    {
      std::lock_guard<std::mutex> lock(current_mu);
      platform = current;
    }
    if (platform == nullptr) {
      return absl::FailedPreconditionError("fake platform: none alive when the plugin connected");
    }
    return platform->Factory()(options);
  };
}

}  // namespace kaigo::platform::testing

#include "qualification.h"

#include <chrono>
#include <map>
#include <mutex>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "card_proof.h"
#include "in_tree_manifest.h"
#include "kaigo/identifiers.h"
#include "kaigo/plugins/v1/platform_config.pb.h"
#include "kaigo/sdk/clock.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/response.h"
#include "kaigo/v1/qualification.pb.h"
#include "nlohmann/json.hpp"
#include "platform_connection.h"
#include "platform_json.h"
#include "qualification_result.h"
#include "recipient_ref.h"

namespace kaigo::plugins::qualification {

namespace {

namespace v1 = kaigo::v1;
using kaigo::plugins::v1::QualificationConfig;

constexpr char kMethod[] = "/kaigo.v1.QualificationService/LookupByInsuredNumber";
constexpr char kByCard[] = "/kaigo.v1.QualificationService/LookupByCard";

// "YYYY-MM-DD" of the request's reference date, `today` (the host's, in Japan) when unset.
absl::StatusOr<std::string> AsOf(bool given, const v1::Date& d, absl::CivilDay today) {
  if (!given) return IsoDate(today);
  absl::CivilDay day(d.year(), d.month(), d.day());
  if (day.year() != d.year() || day.month() != d.month() || day.day() != d.day()) {
    return sdk::InvalidField("as_of_date", "CALENDAR_DATE", "not a calendar date");
  }
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

class Qualification : public sdk::Instance {
 public:
  Qualification(sdk::HostServices host, QualificationConfig config,
                platform::PlatformAccounts accounts)
      : Instance(std::move(host)), config_(std::move(config)), accounts_(std::move(accounts)) {
    int concurrent = config_.platform().max_concurrent_calls();
    SetMaxWorkers(concurrent > 0 ? concurrent : 16);
    BlockingUnary<v1::LookupByInsuredNumberRequest, v1::LookupByInsuredNumberResponse>(
        kMethod, [this](const v1::LookupByInsuredNumberRequest& req, const sdk::CallBase& call) {
          return sdk::AnswerIn(Lookup(req, call),
                               &v1::LookupByInsuredNumberResponse::mutable_qualification);
        });
    BlockingUnary<v1::LookupByCardRequest, v1::LookupByCardResponse>(
        kByCard, [this](const v1::LookupByCardRequest& req, const sdk::CallBase& call) {
          return sdk::AnswerIn(LookupByCard(req, call),
                               &v1::LookupByCardResponse::mutable_qualification);
        });
  }

 private:
  absl::StatusOr<v1::QualificationResult> Lookup(const v1::LookupByInsuredNumberRequest& req,
                                                 const sdk::CallBase& call) {
    if (auto s = ValidateInsurerNumber(req.insurer().value()); !s.ok()) {
      return sdk::ForField(s, "insurer.value", "INSURER_NUMBER");
    }
    if (auto s = ValidateInsuredNumber(req.insured().value()); !s.ok()) {
      return sdk::ForField(s, "insured.value", "INSURED_NUMBER");
    }
    auto reference = AsOf(req.has_as_of_date(), req.as_of_date(), host().Today());
    if (!reference.ok()) return reference.status();
    const std::string& as_of = *reference;
    // The office's web-service user for the call's role; what the platform shows depends on the
    // user's job type, so each user's answers are cached apart.
    const platform::PlatformAccount& account = accounts_.For(call.info());
    std::string key =
        account.role + "|" + req.insurer().value() + "/" + req.insured().value() + "/" + as_of;
    absl::StatusOr<v1::QualificationResult> result = Cached(key);
    if (!result.ok()) {
      auto response =
          platform::CallClient(*account.client, call)
              .Get("/api/v1/insured-certificate?insurer_number=" + req.insurer().value() +
                   "&insured_number=" + req.insured().value() + "&as_of=" + as_of);
      result = response.ok() ? ParseInsuredCertificate(response->body, as_of)
                             : absl::StatusOr<v1::QualificationResult>(response.status());
      if (result.ok()) Remember(key, *result);
    }
    if (result.ok() || result.status().code() != absl::StatusCode::kInvalidArgument) {
      std::string verdict = result.ok() ? v1::QualificationVerdict_Name(result->verdict()) : "";
      return host().Disclose(&call, kMethod, refs_.Of(req.insurer().value(), req.insured().value()),
                             std::move(result), verdict);
    }
    return result;
  }

  // The platform's challenge, signed by the card through the card reader concern (whichever
  // plugin the office binds to it), then the qualification of the certificate's holder.
  absl::StatusOr<v1::QualificationResult> LookupByCard(const v1::LookupByCardRequest& req,
                                                       const sdk::CallBase& call) {
    auto as_of = AsOf(req.has_as_of_date(), req.as_of_date(), host().Today());
    if (!as_of.ok()) return as_of.status();
    platform::CallClient client = accounts_.ClientFor(call);
    auto body = ProveCardHolder(host(), call, client, req.reader(), req.pin());
    if (!body.ok()) return body.status();
    (*body)["as_of"] = *as_of;
    // A lookup, not a record, yet a POST: its key is derived from the platform's challenge, which
    // is single use and bound to the office, so a retry of this request (the same proof) gets the
    // first answer rather than CHALLENGE_INVALID, and another lookup has another key.
    auto response =
        client.Post("/api/v1/insured-certificate/by-card", body->dump(),
                    platform::IdempotencyKey::Derived("", "qualification/by-card",
                                                      {body->value("challenge", std::string())}));
    absl::StatusOr<v1::QualificationResult> result =
        response.ok() ? ParseInsuredCertificate(response->body, *as_of)
                      : absl::StatusOr<v1::QualificationResult>(response.status());
    std::string subject = result.ok() ? refs_.Of(result->recipient().insurer().value(),
                                                 result->recipient().insured().value())
                                      : "card";
    std::string verdict = result.ok() ? v1::QualificationVerdict_Name(result->verdict()) : "";
    return host().Disclose(&call, kByCard, subject, std::move(result), verdict);
  }

  absl::StatusOr<v1::QualificationResult> Cached(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (config_.cache_ttl_seconds() <= 0 || it == cache_.end() ||
        std::chrono::steady_clock::now() - it->second.first >= Ttl()) {
      return absl::NotFoundError("not cached");
    }
    return it->second.second;
  }

  void Remember(const std::string& key, const v1::QualificationResult& result) {
    if (config_.cache_ttl_seconds() <= 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto now = std::chrono::steady_clock::now();
    for (auto it = cache_.begin(); it != cache_.end();) {  // expired entries go
      it = now - it->second.first >= Ttl() ? cache_.erase(it) : std::next(it);
    }
    cache_[key] = {now, result};
  }

  // A TTL, so on the monotonic clock: moving the host's clock neither keeps nor drops an answer.
  std::chrono::seconds Ttl() const { return std::chrono::seconds(config_.cache_ttl_seconds()); }

  const QualificationConfig config_;
  const platform::PlatformAccounts accounts_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, v1::QualificationResult>>
      cache_;
  RecipientRefs refs_{host()};
};

}  // namespace

sdk::PluginDefinition Define() { return DefineWith(nullptr); }

sdk::PluginDefinition DefineWith(platform::ClientFactory make_client) {
  sdk::PluginManifest m = InTreeManifest("qualification");
  m.security_posture =
      "Calls the platform's web API over TLS 1.3 with the office's client certificate; reads "
      "its credentials from the office's secrets; audits every answer with a keyed recipient "
      "reference.";
  m.services = {"kaigo.v1.QualificationService"};
  m.calls = {"/kaigo.v1.CardReaderService/AuthenticateHolder"};
  auto create = [make_client](
                    sdk::HostServices host, const sdk::InstanceContext&,
                    QualificationConfig config) -> absl::StatusOr<std::unique_ptr<sdk::Instance>> {
    if (config.cache_ttl_seconds() < 0) {
      return absl::InvalidArgumentError("cache_ttl_seconds: must be 0 or more");
    }
    auto accounts = platform::PlatformAccounts::Connect(config.platform(), host,
                                                        /*needs_web_user=*/true, make_client);
    if (!accounts.ok()) return accounts.status();
    return std::make_unique<Qualification>(std::move(host), std::move(config),
                                           *std::move(accounts));
  };
  return sdk::DefinePlugin<QualificationConfig>(std::move(m), std::move(create));
}

}  // namespace kaigo::plugins::qualification

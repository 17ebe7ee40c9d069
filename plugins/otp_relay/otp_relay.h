// otp_relay — OtpService answered by an office operator.
//
// A plugin that needs a one-time password (portal registration) calls RequestOtp; the request
// waits while the office's operators see it (ListPending, WatchPending) and one types the code
// from the mail (ProvideOtp). Pending requests and answers live in the host store, not in memory,
// so an answer reaches the waiting request even when it arrives at another instance (after a hot
// swap) and pending requests survive an engine restart. A per-image ticker thread (200 ms)
// delivers answers, expiries and watcher events.
//
// Thread safety: all methods are thread-safe.
#ifndef KAIGO_PLUGINS_OTP_RELAY_OTP_RELAY_H_
#define KAIGO_PLUGINS_OTP_RELAY_OTP_RELAY_H_

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kaigo/plugins/v1/otp_relay_config.pb.h"
#include "kaigo/sdk/instance.h"
#include "kaigo/sdk/plugin_definition.h"
#include "kaigo/v1/otp.pb.h"

namespace kaigo::plugins::otp_relay {

class OtpRelay : public sdk::Instance {
 public:
  OtpRelay(sdk::HostServices host, kaigo::plugins::v1::OtpRelayConfig config);
  ~OtpRelay() override;

  // Delivers answers and expiries, and pending-list changes to watchers. Called by the ticker.
  void Tick();

 private:
  using WaitingCall = std::shared_ptr<sdk::UnaryCall<kaigo::v1::RequestOtpResponse>>;
  using Watcher = std::shared_ptr<sdk::ServerStream<kaigo::v1::WatchPendingResponse>>;

  void RequestOtp(const kaigo::v1::RequestOtpRequest& request, WaitingCall call);
  absl::StatusOr<kaigo::v1::ProvideOtpResponse> ProvideOtp(
      const kaigo::v1::ProvideOtpRequest& request);
  absl::StatusOr<kaigo::v1::ListPendingResponse> ListPending(
      const kaigo::v1::ListPendingRequest& request);
  void WatchPending(Watcher watcher);

  absl::StatusOr<std::vector<kaigo::v1::PendingOtp>> LoadPending() const;
  // Requests and expiries are stored and shown to the operator: the host's clock, Unix seconds.
  int64_t NowSeconds() const { return absl::ToUnixSeconds(host().Now()); }
  void Broadcast(kaigo::v1::PendingOtpEvent::Kind kind, const kaigo::v1::PendingOtp& otp);
  void Withdraw(const std::string& otp_id);
  // Removes a request and its answer from the store.
  void Forget(const std::string& otp_id);

  const kaigo::plugins::v1::OtpRelayConfig config_;
  std::mutex mu_;
  std::map<std::string, WaitingCall> waiting_;  // request id → the RequestOtp call
  std::vector<Watcher> watchers_;
  std::map<std::string, kaigo::v1::PendingOtp> seen_;  // what watchers were last told is pending
};

sdk::PluginDefinition Define();

}  // namespace kaigo::plugins::otp_relay

#endif  // KAIGO_PLUGINS_OTP_RELAY_OTP_RELAY_H_

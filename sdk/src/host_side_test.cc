// The host side of the call ABI (host_side.h), shared by the engine and the fake host, against a
// plugin table scripted here: the call info a plugin gets, a call finished inside call_start,
// cancel delivered at most once, only after call_start returned and never after finish, a second
// finish ignored, writes after finish refused, and outgoing calls (a route error at once, a unary
// answer as one message before the finish, cancellation passed to the target).
#include "kaigo/sdk/internal/host_side.h"

#include <gtest/gtest.h>

#include "kaigo/sdk/abi.h"

namespace kaigo::sdk::host {
namespace {

// What the scripted plugin does and saw. One test at a time.
struct Script {
  bool finish_in_start = false;
  bool cancel_in_start = false;     // the creator cancels while call_start runs
  std::vector<std::string> writes;  // written in call_start
  std::string response = "response";
  // Seen:
  CallContext info;
  std::string request;
  kaigo_call* call = nullptr;
  bool in_start = false;
  int cancels = 0;
  bool cancelled_in_start = false;
  int32_t write_after_finish = KAIGO_CODE_OK;
};
Script* script = nullptr;

void Finish(kaigo_call* call, const absl::Status& status, std::string_view response) {
  kaigo_status s = ToKaigoStatus(status);
  CallFinish(call, &s, ToBytes(response));
}

void Start(kaigo_instance*, kaigo_call* call, const kaigo_call_info* info, kaigo_bytes request,
           void** call_ctx) {
  script->in_start = true;
  script->info = CallContext::From(*info);
  script->request = std::string(FromBytes(request));
  script->call = call;
  *call_ctx = script;
  if (script->cancel_in_start) Cancel(call);
  for (const auto& w : script->writes) CallWrite(call, ToBytes(w));
  if (script->finish_in_start) Finish(call, absl::OkStatus(), script->response);
  script->in_start = false;
}

void CancelCall(kaigo_instance*, kaigo_call*, void* call_ctx) {
  auto* s = static_cast<Script*>(call_ctx);
  ++s->cancels;
  s->cancelled_in_start |= s->in_start;
}

const kaigo_plugin_api kApi = [] {
  kaigo_plugin_api api{};
  api.struct_size = sizeof(api);
  api.abi_version = KAIGO_ABI_VERSION;
  api.call_start = &Start;
  api.call_cancel = &CancelCall;
  return api;
}();

// Records what reaches the creator.
class Sink : public CallSink {
 public:
  bool OnWrite(std::string_view message) override {
    messages.emplace_back(message);
    return accept;
  }
  void OnFinish(const absl::Status& s, std::string_view r) override {
    ++finishes;
    status = s;
    response = std::string(r);
  }
  bool accept = true;
  std::vector<std::string> messages;
  int finishes = 0;
  absl::Status status = absl::UnknownError("not finished");
  std::string response;
};

Target TheTarget(bool streaming = false) { return Target{&kApi, nullptr, nullptr, streaming}; }

CallContext Context() {
  CallContext c;
  c.method = "/kaigo.v1.OtpService/RequestOtp";
  c.office = "1371000017";
  c.caller = "desk";
  c.request_id = "req-1";
  c.roles = {"care_manager", "office_admin"};
  c.deadline_unix_ms = 1795000000000;
  c.user = "staff-7";
  return c;
}

class HostSideTest : public ::testing::Test {
 protected:
  void SetUp() override { script = &s_; }
  void TearDown() override { script = nullptr; }
  Script s_;
  Sink sink_;
};

TEST_F(HostSideTest, ThePluginGetsTheCallsContextAndRequest) {
  kaigo_call* call = StartCall(TheTarget(), Context(), &sink_, "bytes");
  EXPECT_EQ(s_.request, "bytes");
  EXPECT_EQ(s_.info.method, "/kaigo.v1.OtpService/RequestOtp");
  EXPECT_EQ(s_.info.office, "1371000017");
  EXPECT_EQ(s_.info.caller, "desk");
  EXPECT_EQ(s_.info.request_id, "req-1");
  EXPECT_EQ(s_.info.roles, (std::vector<std::string>{"care_manager", "office_admin"}));
  EXPECT_EQ(s_.info.deadline_unix_ms, 1795000000000);
  EXPECT_EQ(s_.info.user, "staff-7");
  EXPECT_EQ(ContextOf(call).caller, "desk");
  Finish(call, absl::NotFoundError("none"), "");
  EXPECT_EQ(sink_.finishes, 1);
  EXPECT_EQ(sink_.status.code(), absl::StatusCode::kNotFound);
  Release(call);
}

TEST_F(HostSideTest, ACallFinishedInsideStartIsNeverCancelled) {
  s_.finish_in_start = true;
  s_.writes = {"one", "two"};
  kaigo_call* call = StartCall(TheTarget(), Context(), &sink_, "");
  EXPECT_EQ(sink_.messages, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(sink_.finishes, 1);
  EXPECT_EQ(sink_.response, "response");
  Cancel(call);
  EXPECT_EQ(s_.cancels, 0);
  Release(call);
}

TEST_F(HostSideTest, ACancelDuringStartIsDeliveredOnceStartReturned) {
  s_.cancel_in_start = true;
  kaigo_call* call = StartCall(TheTarget(), Context(), &sink_, "");
  EXPECT_EQ(s_.cancels, 1);
  EXPECT_FALSE(s_.cancelled_in_start);
  Cancel(call);
  EXPECT_EQ(s_.cancels, 1) << "at most once";
  Finish(call, absl::CancelledError("gone"), "");
  Release(call);
}

TEST_F(HostSideTest, CancelIsDeliveredAtMostOnceAndNeverAfterFinish) {
  kaigo_call* call = StartCall(TheTarget(), Context(), &sink_, "");
  Cancel(call);
  Cancel(call);
  EXPECT_EQ(s_.cancels, 1);
  Finish(call, absl::CancelledError("gone"), "");
  Release(call);

  Script again;
  script = &again;
  Sink sink;
  call = StartCall(TheTarget(), Context(), &sink, "");
  Finish(call, absl::OkStatus(), "r");
  Cancel(call);
  EXPECT_EQ(again.cancels, 0);
  Release(call);
}

TEST_F(HostSideTest, TheFirstFinishCountsAndWritesAfterItAreRefused) {
  kaigo_call* call = StartCall(TheTarget(), Context(), &sink_, "");
  EXPECT_EQ(CallWrite(call, ToBytes("m")), KAIGO_CODE_OK);
  sink_.accept = false;  // the receiver has gone
  EXPECT_EQ(CallWrite(call, ToBytes("n")), KAIGO_CODE_CANCELLED);
  sink_.accept = true;
  Finish(call, absl::OkStatus(), "first");
  EXPECT_EQ(CallWrite(call, ToBytes("late")), KAIGO_CODE_CANCELLED);
  Finish(call, absl::InternalError("again"), "second");  // a plugin bug: ignored
  EXPECT_EQ(sink_.finishes, 1);
  EXPECT_TRUE(sink_.status.ok());
  EXPECT_EQ(sink_.response, "first");
  EXPECT_EQ(sink_.messages, (std::vector<std::string>{"m", "n"}));
  Release(call);
}

struct Replies {
  std::vector<std::string> messages;
  int finishes = 0;
  absl::Status status = absl::UnknownError("not finished");

  kaigo_reply_handler Handler() {
    return kaigo_reply_handler{this,
                               [](void* ctx, kaigo_bytes m) {
                                 static_cast<Replies*>(ctx)->messages.emplace_back(FromBytes(m));
                               },
                               [](void* ctx, const kaigo_status* s) {
                                 auto* r = static_cast<Replies*>(ctx);
                                 ++r->finishes;
                                 r->status = FromKaigoStatus(*s);
                               }};
  }
};

TEST_F(HostSideTest, AnOutgoingCallWithoutATargetFinishesAtOnceWithTheRouteError) {
  Replies replies;
  kaigo_outgoing_call* out = StartOutgoing(Target{}, absl::PermissionDeniedError("not listed"),
                                           Context(), "", replies.Handler());
  EXPECT_EQ(replies.finishes, 1);
  EXPECT_EQ(replies.status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(replies.messages.empty());
  OutgoingRelease(out);
}

TEST_F(HostSideTest, AUnaryOutgoingCallsResponseIsOneMessageBeforeTheFinish) {
  s_.finish_in_start = true;
  Replies replies;
  OutgoingRelease(StartOutgoing(TheTarget(), absl::OkStatus(), Context(), "q", replies.Handler()));
  EXPECT_EQ(replies.messages, std::vector<std::string>{"response"});
  EXPECT_EQ(replies.finishes, 1);
  EXPECT_TRUE(replies.status.ok());

  Script streaming;
  streaming.finish_in_start = true;
  streaming.writes = {"a", "b"};
  script = &streaming;
  Replies streamed;
  OutgoingRelease(
      StartOutgoing(TheTarget(true), absl::OkStatus(), Context(), "q", streamed.Handler()));
  EXPECT_EQ(streamed.messages, (std::vector<std::string>{"a", "b"}))
      << "a stream's finish carries no response";
}

TEST_F(HostSideTest, CancellingAnOutgoingCallCancelsItsTarget) {
  Replies replies;
  kaigo_outgoing_call* out =
      StartOutgoing(TheTarget(), absl::OkStatus(), Context(), "q", replies.Handler());
  OutgoingCancel(out);
  EXPECT_EQ(s_.cancels, 1);
  EXPECT_EQ(replies.finishes, 0) << "the target finishes it";
  Finish(s_.call, absl::CancelledError("cancelled"), "");
  EXPECT_EQ(replies.finishes, 1);
  EXPECT_EQ(replies.status.code(), absl::StatusCode::kCancelled);
  OutgoingCancel(out);  // after finish: nothing to cancel
  EXPECT_EQ(s_.cancels, 1);
  OutgoingRelease(out);
}

}  // namespace
}  // namespace kaigo::sdk::host

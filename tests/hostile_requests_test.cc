// Every RPC of every service the engine serves — found through server reflection, not from a list
// here — sent what a careless or hostile caller might send: an empty request, a valid-looking
// message cut short, random bytes (a fixed seed), and messages whose every field holds a hostile
// value (very long strings, control characters, negative and extreme numbers, huge repeated
// fields, invalid UTF-8). Each call acts for the configured office in a role its method admits.
// No answer may be INTERNAL or UNKNOWN, and the engine must still run (its pid, then a health
// Check) at the end. The engine's own health service answers a malformed request
// INVALID_ARGUMENT, on the API port and on server.health_listen.
#include <grpcpp/support/sync_stream.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <cstdint>
#include <future>
#include <iostream>
#include <limits>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/stubs/logging.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kaigo/sdk/roles.h"
#include "kaigo/options/v1/options.pb.h"
#include "tests/support/every_concern.h"
#include "tests/support/reflection.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

// How a message's fields are filled.
enum class Fill {
  kPlausible,     // ordinary values, for a message that is then cut short
  kLong,          // strings and bytes of 100,000 bytes
  kControl,       // strings of control characters and escape sequences
  kExtreme,       // negative and extreme numbers, unknown enum values, NaN
  kHugeRepeated,  // 20,000 elements in every repeated field of the request itself
  kInvalidUtf8,   // strings that are not UTF-8
};

struct Variant {
  std::string name;
  std::string bytes;
};

std::string StringFor(Fill fill) {
  switch (fill) {
    case Fill::kLong:
      return std::string(100000, 'A');
    case Fill::kControl:
      return std::string("\0\x01\x07\b\x1b[2J\x1b]0;x\x07\r\n\t\x7f", 19) + "1371000017";
    case Fill::kInvalidUtf8:
      return "\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\x28";
    case Fill::kExtreme:
      return "-1";
    default:
      return "1371000017";
  }
}

void SetOne(Message* m, const FieldDescriptor* f, Fill fill, int depth);

// Sets every field of `m` (a member of a oneof overwrites the one before it); messages nest to
// depth 3.
void FillMessage(Message* m, Fill fill, int depth) {
  const Descriptor* d = m->GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && depth >= 3) continue;
    int count = !f->is_repeated() ? 1 : (fill == Fill::kHugeRepeated && depth == 0) ? 20000 : 2;
    for (int k = 0; k < count; ++k) SetOne(m, f, fill, depth);
  }
}

void SetOne(Message* m, const FieldDescriptor* f, Fill fill, int depth) {
  const auto* r = m->GetReflection();
  const bool extreme = fill == Fill::kExtreme;
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v = extreme ? std::numeric_limits<int32_t>::min() : 1;
      rep ? r->AddInt32(m, f, v) : r->SetInt32(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v = extreme ? std::numeric_limits<int64_t>::min() : 1;
      rep ? r->AddInt64(m, f, v) : r->SetInt64(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v = extreme ? std::numeric_limits<uint32_t>::max() : 1;
      rep ? r->AddUInt32(m, f, v) : r->SetUInt32(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v = extreme ? std::numeric_limits<uint64_t>::max() : 1;
      rep ? r->AddUInt64(m, f, v) : r->SetUInt64(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v = extreme ? std::nan("") : 1;
      rep ? r->AddDouble(m, f, v) : r->SetDouble(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float v = extreme ? -std::numeric_limits<float>::infinity() : 1;
      rep ? r->AddFloat(m, f, v) : r->SetFloat(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      rep ? r->AddBool(m, f, true) : r->SetBool(m, f, true);
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      // Open enums (proto3) keep a number they do not know.
      int v = extreme ? -1 : (f->enum_type()->value_count() > 1 ? 1 : 0);
      rep ? r->AddEnumValue(m, f, v) : r->SetEnumValue(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string v = StringFor(fill);
      rep ? r->AddString(m, f, v) : r->SetString(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      FillMessage(rep ? r->AddMessage(m, f) : r->MutableMessage(m, f), fill, depth + 1);
      break;
  }
}

std::vector<Variant> Variants(const Descriptor* input, google::protobuf::MessageFactory* factory) {
  auto message = [&](Fill fill) {
    std::unique_ptr<Message> m(factory->GetPrototype(input)->New());
    FillMessage(m.get(), fill, 0);
    google::protobuf::LogSilencer quiet;  // protobuf logs invalid UTF-8, then writes it as it is
    return m->SerializeAsString();
  };
  std::vector<Variant> out = {{"empty", ""}};
  std::string plausible = message(Fill::kPlausible);
  if (plausible.size() > 1) {
    out.push_back({"truncated by one byte", plausible.substr(0, plausible.size() - 1)});
    out.push_back({"truncated by half", plausible.substr(0, plausible.size() / 2)});
  }
  std::mt19937 random(16);  // fixed: the same bytes every run
  for (size_t size : {1, 7, 64, 4096}) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(random() & 0xFF);
    out.push_back({absl::StrCat(size, " random bytes"), bytes});
  }
  out.push_back({"very long strings", message(Fill::kLong)});
  out.push_back({"control characters", message(Fill::kControl)});
  out.push_back({"extreme numbers", message(Fill::kExtreme)});
  out.push_back({"huge repeated fields", message(Fill::kHugeRepeated)});
  out.push_back({"invalid UTF-8", message(Fill::kInvalidUtf8)});
  return out;
}

// A role the method's policy admits, "" if it names none (the engine's own services but admin).
std::string AdmittedRole(const std::string& full_name) {
  const MethodDescriptor* m =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full_name);
  if (m == nullptr || !m->options().HasExtension(kaigo::options::v1::kaigo)) return "";
  const auto& access = m->options().GetExtension(kaigo::options::v1::kaigo).access();
  if (access.roles_size() == 0) return "";
  return sdk::RoleName(static_cast<kaigo::options::v1::Role>(access.roles(0)));
}

// Field 1, length-delimited, 5 bytes announced and 2 sent: no message parses it.
const std::string kTruncated(
    "\x0a\x05"
    "ab",
    4);

// One call of any shape as a stream: the request written, the answers read, the status.
grpc::Status Send(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                  const std::string& bytes, const std::string& role) {
  auto context = Context(kEveryConcernOffice, absl::Seconds(3));
  if (!role.empty()) context->AddMetadata("x-kaigo-role", role);
  grpc::internal::RpcMethod method(path.c_str(), grpc::internal::RpcMethod::BIDI_STREAMING);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          channel.get(), method, context.get()));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  stream->Write(request);  // false when the server has already answered
  stream->WritesDone();
  grpc::ByteBuffer response;
  while (stream->Read(&response)) {
  }
  return stream->Finish();
}

std::shared_ptr<grpc::Channel> LargeMessageChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

using HostileRequestsTest = EveryConcernTest;

TEST_F(HostileRequestsTest, NoMethodAnswersInternalOrUnknownAndTheEngineLives) {
  auto channel = LargeMessageChannel(stack_->engine->target());
  google::protobuf::SimpleDescriptorDatabase database;
  std::vector<std::string> services = ReflectedServices(channel);
  ASSERT_GE(services.size(), 10u);  // 7 concerns, admin, health, reflection v1 and v1alpha
  for (const std::string& service : services) {
    ASSERT_TRUE(AddReflectedFiles(channel, service, &database)) << service;
  }
  google::protobuf::DescriptorPool pool(&database);
  google::protobuf::DynamicMessageFactory factory(&pool);
  std::map<grpc::StatusCode, int> codes;
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service = pool.FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* method = service->method(i);
      const std::string path = "/" + name + "/" + method->name();
      const std::string role = AdmittedRole(method->full_name());
      std::vector<Variant> variants = Variants(method->input_type(), &factory);
      // A method's variants at once: admitted watches end only at their deadline.
      std::vector<std::future<grpc::Status>> answers;
      for (const Variant& v : variants) {
        answers.push_back(std::async(std::launch::async, [&channel, &path, &v, &role] {
          return Send(channel, path, v.bytes, role);
        }));
      }
      for (size_t k = 0; k < variants.size(); ++k) {
        grpc::Status status = answers[k].get();
        EXPECT_NE(status.error_code(), grpc::StatusCode::INTERNAL)
            << path << " " << variants[k].name << ": " << status.error_message();
        EXPECT_NE(status.error_code(), grpc::StatusCode::UNKNOWN)
            << path << " " << variants[k].name << ": " << status.error_message();
        ++codes[status.error_code()];
      }
    }
  }
  int calls = 0;
  std::cout << "answers by code:";
  for (const auto& [code, count] : codes) {
    std::cout << " " << code << "×" << count;
    calls += count;
  }
  std::cout << "\n";
  EXPECT_GT(calls, 500);

  // The engine's own unary methods parse their requests: what does not parse is
  // INVALID_ARGUMENT (gRPC's typed callback methods would say UNIMPLEMENTED).
  for (const char* path :
       {"/kaigo.v1.EngineAdminService/ListPlugins", "/kaigo.v1.EngineAdminService/SwapPlugin"}) {
    grpc::Status bad = Send(channel, path, kTruncated, "engine_admin");
    EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << path << ": " << bad.error_message();
  }

  EXPECT_EQ(kill(stack_->engine->pid(), 0), 0) << "the engine has gone";
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health->Check(Context("").get(), {}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

// What gRPC's default health service answers INTERNAL, the engine's answers INVALID_ARGUMENT —
// Check and Watch, on the API port and on the health listener.
TEST(HealthServiceTest, AMalformedRequestIsInvalidArgumentOnBothListeners) {
  TempDir dir;
  auto engine =
      EngineProcess::Start(dir.Write("engine.yaml",
                                     "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n"
                                     "  health_listen: 127.0.0.1:0\n"
                                     "store:\n  sqlite_path: state.db\n"));
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_NE((*engine)->health_port(), 0);
  for (int port : {(*engine)->grpc_port(), (*engine)->health_port()}) {
    auto channel = InsecureChannel("127.0.0.1:" + std::to_string(port));
    for (const char* method : {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"}) {
      grpc::Status bad = Send(channel, method, kTruncated, "");
      EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << port << method << ": " << bad.error_message();
    }
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(Context("").get(), request, &response).ok());
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
    request.set_service("no.such.Service");
    EXPECT_EQ(health->Check(Context("").get(), request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
    // Watch tells the current status first.
    auto context = Context("");
    request.set_service("");
    auto watch = health->Watch(context.get(), request);
    ASSERT_TRUE(watch->Read(&response));
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
    context->TryCancel();
    watch->Finish();
  }
  // The health listener serves nothing else.
  grpc::Status other =
      Send(InsecureChannel("127.0.0.1:" + std::to_string((*engine)->health_port())),
           "/kaigo.v1.EngineAdminService/ListPlugins", "", "");
  EXPECT_EQ(other.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // Shutting down, a watcher hears NOT_SERVING, then its stream ends.
  auto channel = InsecureChannel("127.0.0.1:" + std::to_string((*engine)->health_port()));
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto context = Context("", absl::Seconds(60));
  grpc::health::v1::HealthCheckResponse response;
  auto watch = health->Watch(context.get(), {});
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  (*engine)->Signal(SIGTERM);
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(watch->Read(&response));
  EXPECT_TRUE(watch->Finish().ok());
  EXPECT_EQ((*engine)->Stop(), 0);
}

}  // namespace
}  // namespace kaigo::testing

// A plugin built out of tree against the installed SDK loads into the engine built before it, and
// a client that knows its service only through server reflection finds and calls it, with messages
// built from the reflected descriptors.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <future>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "tests/support/reflection.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::DynamicMessageFactory;

TEST(ReflectionClientTest, OutOfTreePluginIsFoundAndCalledThroughReflectionOnly) {
  std::string plugin = BuildDir() + "/sdk-example/visit_notes.so";
  TempDir dir;
  const std::string office = Office("137100001");
  std::string config =
      "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n"
      "plugins:\n  - {name: visit_notes, path: " +
      plugin +
      "}\n"
      "offices:\n  - number: \"" +
      office +
      "\"\n    concerns:\n"
      "      - service: acme.visitnotes.v1.VisitNoteService\n"
      "        plugin: visit_notes\n        settings: {max_note_bytes: 100}\n"
      "store:\n  sqlite_path: state.db\n";
  auto engine = EngineProcess::Start(dir.Write("engine.yaml", config));
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto channel = InsecureChannel((*engine)->target());

  // 1. Which services are there?
  std::string service;
  for (const std::string& name : ReflectedServices(channel)) {
    if (name.find("VisitNote") != std::string::npos) service = name;
  }
  ASSERT_EQ(service, "acme.visitnotes.v1.VisitNoteService");

  // 2. Its descriptors, with dependencies (the file and kaigo/v1/common.proto), into a pool.
  google::protobuf::SimpleDescriptorDatabase database;
  ASSERT_TRUE(AddReflectedFiles(channel, service, &database));
  google::protobuf::FileDescriptorProto common;
  ASSERT_TRUE(database.FindFileByName("kaigo/v1/common.proto", &common));
  DescriptorPool pool(&database);
  const auto* method = pool.FindMethodByName(service + ".AddNote");
  ASSERT_NE(method, nullptr);

  // 3. A request built from the reflected types, sent as bytes.
  DynamicMessageFactory factory(&pool);
  std::unique_ptr<google::protobuf::Message> req(factory.GetPrototype(method->input_type())->New());
  auto* note = req->GetReflection()->MutableMessage(req.get(),
                                                    method->input_type()->FindFieldByName("note"));
  auto* recipient = note->GetReflection()->MutableMessage(
      note, note->GetDescriptor()->FindFieldByName("recipient"));
  auto set_value = [&](const char* field, const std::string& value) {
    auto* m = recipient->GetReflection()->MutableMessage(
        recipient, recipient->GetDescriptor()->FindFieldByName(field));
    m->GetReflection()->SetString(m, m->GetDescriptor()->FindFieldByName("value"), value);
  };
  set_value("insurer", "131011");
  set_value("insured", "H123456789");
  note->GetReflection()->SetString(note, note->GetDescriptor()->FindFieldByName("text"),
                                   "訪問時、体調良好");
  grpc::Slice slice(req->SerializeAsString());
  grpc::ByteBuffer request_bytes(&slice, 1), response_bytes;
  grpc::GenericStub generic(channel);
  auto context = Context(office);
  std::promise<grpc::Status> done;
  generic.UnaryCall(context.get(), "/" + service + "/AddNote", grpc::StubOptions(), &request_bytes,
                    &response_bytes, [&](grpc::Status s) { done.set_value(s); });
  auto status = done.get_future().get();
  ASSERT_TRUE(status.ok()) << status.error_message();

  grpc::Slice out;
  response_bytes.DumpToSingleSlice(&out);
  std::unique_ptr<google::protobuf::Message> resp(
      factory.GetPrototype(method->output_type())->New());
  ASSERT_TRUE(resp->ParseFromArray(out.begin(), static_cast<int>(out.size())));
  EXPECT_EQ(resp->ShortDebugString(), "notes_for_recipient: 1");
}

}  // namespace
}  // namespace kaigo::testing

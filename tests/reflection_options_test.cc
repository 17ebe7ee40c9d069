// Server reflection serves the custom options' definitions: a client that knows nothing of kaigo
// asks which extensions google.protobuf.FieldOptions and MethodOptions have, fetches the files
// declaring them and the care-plan messages, and reads a field's care-plan item metadata (日本語
// 名称, form, length…) and a method's access policy from the descriptors it got — the same as the
// generated code says. Extensions are found by name, not number.
#include <gtest/gtest.h>

#include <iostream>
#include <memory>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/text_format.h"
#include "kaigo/careplan/v1/care_plan.pb.h"
#include "kaigo/options/v1/options.pb.h"
#include "tests/support/reflection.h"
#include "tests/support/test_env.h"

namespace kaigo::testing {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::DynamicMessageFactory;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using grpc::reflection::v1::ServerReflectionRequest;

constexpr char kFieldOptions[] = "google.protobuf.FieldOptions";
constexpr char kMethodOptions[] = "google.protobuf.MethodOptions";
// The care-plan item metadata's type (a field of kaigo's Options on the record fields).
const std::string kItem = kaigo::options::v1::CarePlanItem::descriptor()->full_name();
// Names the generated care-plan classes, so they are linked for the test to compare with.
const std::string kCarePlanFile = kaigo::careplan::v1::CarePlanFile::descriptor()->full_name();

// Adds the answer's files to `database`; their names.
std::vector<std::string> AddFiles(const grpc::reflection::v1::ServerReflectionResponse& response,
                                  google::protobuf::SimpleDescriptorDatabase* database) {
  std::vector<std::string> names;
  for (const auto& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file, known;
    EXPECT_TRUE(file.ParseFromString(bytes));
    names.push_back(file.name());
    if (!database->FindFileByName(file.name(), &known)) database->Add(file);
  }
  return names;
}

// Fetches every extension of `extendee` the server declares; their numbers.
std::vector<int> FetchExtensions(const std::shared_ptr<grpc::Channel>& channel,
                                 const std::string& extendee,
                                 google::protobuf::SimpleDescriptorDatabase* database) {
  ServerReflectionRequest request;
  request.set_all_extension_numbers_of_type(extendee);
  auto numbers = AskReflection(channel, request);
  EXPECT_FALSE(numbers.has_error_response()) << numbers.error_response().error_message();
  EXPECT_EQ(numbers.all_extension_numbers_response().base_type_name(), extendee);
  std::vector<int> out;
  for (int number : numbers.all_extension_numbers_response().extension_number()) {
    ServerReflectionRequest ask;
    ask.mutable_file_containing_extension()->set_containing_type(extendee);
    ask.mutable_file_containing_extension()->set_extension_number(number);
    auto files = AskReflection(channel, ask);
    EXPECT_FALSE(files.has_error_response()) << files.error_response().error_message();
    EXPECT_FALSE(AddFiles(files, database).empty()) << extendee << " " << number;
    out.push_back(number);
  }
  return out;
}

// The options message of a descriptor, re-read as `pool`'s own options type so that the
// extensions `pool` defines are fields of it, not unknown bytes.
std::unique_ptr<Message> OptionsIn(const DescriptorPool& pool, DynamicMessageFactory* factory,
                                   const std::string& options_type, const Message& options) {
  const Descriptor* type = pool.FindMessageTypeByName(options_type);
  if (type == nullptr) return nullptr;
  std::unique_ptr<Message> out(factory->GetPrototype(type)->New());
  std::string bytes = options.SerializeAsString();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetExtensionRegistry(&pool, factory);
  if (!out->ParseFromCodedStream(&in)) return nullptr;
  return out;
}

// The extension of `extendee` in `pool` that carries message `type`: directly (`item` on
// FieldOptions) or as a field of the one options message behind a single extension.
struct OptionPath {
  const FieldDescriptor* extension = nullptr;
  const FieldDescriptor* inner = nullptr;  // the field within the extension's message, or null
};
OptionPath FindOption(const DescriptorPool& pool, const std::string& extendee,
                      const std::string& type) {
  const Descriptor* options = pool.FindMessageTypeByName(extendee);
  if (options == nullptr) return {};
  std::vector<const FieldDescriptor*> extensions;
  pool.FindAllExtensions(options, &extensions);
  for (const auto* extension : extensions) {
    if (extension->message_type() == nullptr) continue;
    if (extension->message_type()->full_name() == type) return {extension, nullptr};
    for (int i = 0; i < extension->message_type()->field_count(); ++i) {
      const FieldDescriptor* inner = extension->message_type()->field(i);
      if (inner->message_type() != nullptr && inner->message_type()->full_name() == type) {
        return {extension, inner};
      }
    }
  }
  return {};
}

// The option of message `type` set on a descriptor's `options` (of type `options_type`), as
// text; "" when unset.
std::string OptionText(const DescriptorPool& pool, const std::string& options_type,
                       const Message& options, const std::string& type) {
  DynamicMessageFactory factory(&pool);
  OptionPath path = FindOption(pool, options_type, type);
  if (path.extension == nullptr) return "";
  auto read = OptionsIn(pool, &factory, options_type, options);
  if (read == nullptr || !read->GetReflection()->HasField(*read, path.extension)) return "";
  const Message* value = &read->GetReflection()->GetMessage(*read, path.extension, &factory);
  if (path.inner != nullptr) {
    if (!value->GetReflection()->HasField(*value, path.inner)) return "";
    value = &value->GetReflection()->GetMessage(*value, path.inner, &factory);
  }
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.SetUseUtf8StringEscaping(true);
  std::string text;
  printer.PrintToString(*value, &text);
  return text;
}

class ReflectionOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string office = Office("137100001");
    for (const char* secret : {"ca", "p12", "pw", "user", "password"}) {
      dir_.Write(std::string("secrets/") + secret, "x");
    }
    std::string config =
        "server:\n  listen: 127.0.0.1:0\n  insecure_loopback: true\n"
        "plugins:\n  - {name: careplan_exchange, path: " +
        PluginDir() +
        "/careplan_exchange.so}\n"
        "offices:\n  - number: \"" +
        office +
        "\"\n    service_types: [\"43\"]\n    concerns:\n"
        "      - service: kaigo.v1.CarePlanExchangeService\n"
        "        plugin: careplan_exchange\n"
        "        settings:\n          service_type: \"43\"\n"
        "          platform: {base_url: \"https://127.0.0.1:1\", ca_secret: ca, "
        "certificate_secret: p12, certificate_password_secret: pw, user_id_secret: user, "
        "password_secret: password}\n"
        "    secrets:\n";
    for (const char* secret : {"ca", "p12", "pw", "user", "password"}) {
      config +=
          std::string("      - {name: ") + secret + ", ref: {file: secrets/" + secret + "}}\n";
    }
    config += "store:\n  sqlite_path: state.db\nlog:\n  level: warn\n";
    auto engine = EngineProcess::Start(dir_.Write("engine.yaml", config));
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    channel_ = InsecureChannel(engine_->target());
  }

  TempDir dir_;
  std::unique_ptr<EngineProcess> engine_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ReflectionOptionsTest, ClientReadsCarePlanItemMetadataFromReflectedDescriptors) {
  google::protobuf::SimpleDescriptorDatabase database;
  EXPECT_FALSE(FetchExtensions(channel_, kFieldOptions, &database).empty());
  EXPECT_FALSE(FetchExtensions(channel_, kMethodOptions, &database).empty());
  // The care-plan messages come with the service that uses them.
  ASSERT_TRUE(AddReflectedFiles(channel_, "kaigo.v1.CarePlanExchangeService", &database));
  DescriptorPool pool(&database);
  const DescriptorPool& generated = *DescriptorPool::generated_pool();

  // Every care-plan message field with item metadata reads the same through reflection as in the
  // generated code, and each such message is found by its name alone.
  const auto* exchange = pool.FindServiceByName("kaigo.v1.CarePlanExchangeService");
  ASSERT_NE(exchange, nullptr);
  std::vector<std::string> files;
  database.FindAllFileNames(&files);
  int items = 0;
  for (const std::string& name : files) {
    const auto* file = pool.FindFileByName(name);
    ASSERT_NE(file, nullptr) << name;
    if (file->package() != "kaigo.careplan.v1") continue;
    for (int m = 0; m < file->message_type_count(); ++m) {
      const Descriptor* message = file->message_type(m);
      for (int f = 0; f < message->field_count(); ++f) {
        const FieldDescriptor* field = message->field(f);
        std::string reflected = OptionText(pool, kFieldOptions, field->options(), kItem);
        const FieldDescriptor* known = generated.FindFieldByName(field->full_name());
        ASSERT_NE(known, nullptr) << field->full_name();
        EXPECT_EQ(reflected, OptionText(generated, kFieldOptions, known->options(), kItem))
            << field->full_name();
        if (reflected.empty()) continue;
        EXPECT_NE(reflected.find("name: \""), std::string::npos) << reflected;
        if (items++ == 0) {
          ServerReflectionRequest request;
          request.set_file_containing_symbol(message->full_name());
          auto answer = AskReflection(channel_, request);
          ASSERT_FALSE(answer.has_error_response()) << answer.error_response().error_message();
          google::protobuf::FileDescriptorProto first;
          ASSERT_TRUE(
              first.ParseFromString(answer.file_descriptor_response().file_descriptor_proto(0)));
          EXPECT_EQ(first.name(), file->name());
          std::cout << field->full_name() << " { " << reflected << " }\n";
        }
      }
    }
  }
  EXPECT_GT(items, 100) << "care-plan fields with item metadata";

  // A method's access policy, through the `kaigo` method option.
  const std::string options_type = "kaigo.options.v1.Options";
  for (int i = 0; i < exchange->method_count(); ++i) {
    const auto* method = exchange->method(i);
    std::string reflected = OptionText(pool, kMethodOptions, method->options(), options_type);
    EXPECT_FALSE(reflected.empty()) << method->full_name();
    EXPECT_EQ(reflected,
              OptionText(generated, kMethodOptions,
                         generated.FindMethodByName(method->full_name())->options(), options_type))
        << method->full_name();
  }
}

TEST_F(ReflectionOptionsTest, UnknownExtensionsAndTypesAreNotFound) {
  ServerReflectionRequest request;
  request.mutable_file_containing_extension()->set_containing_type(kFieldOptions);
  request.mutable_file_containing_extension()->set_extension_number(536870911);
  auto none = AskReflection(channel_, request);
  EXPECT_EQ(none.error_response().error_code(), grpc::StatusCode::NOT_FOUND);

  request.mutable_file_containing_extension()->set_containing_type("no.such.Type");
  EXPECT_EQ(AskReflection(channel_, request).error_response().error_code(),
            grpc::StatusCode::NOT_FOUND);

  ServerReflectionRequest numbers;
  numbers.set_all_extension_numbers_of_type("no.such.Type");
  EXPECT_EQ(AskReflection(channel_, numbers).error_response().error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace kaigo::testing

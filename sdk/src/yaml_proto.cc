#include "kaigo/sdk/yaml_proto.h"

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"

namespace kaigo::sdk {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

void ConfigErrors::Add(const std::string& where, const std::string& path,
                       const std::string& message) {
  errors_.push_back(absl::StrCat(where, ": ", path.empty() ? "" : path + ": ", message));
}

std::string ConfigErrors::Joined() const { return absl::StrJoin(errors_, "\n"); }

namespace {

bool IsPathField(const FieldDescriptor& field) {
  return absl::EndsWith(field.name(), "_file") || absl::EndsWith(field.name(), "_dir");
}

std::string ResolveAgainst(const std::string& dir, const std::string& root,
                           const std::string& path) {
  if (path.empty()) return path;
  if (!root.empty() && path[0] == '/') {
    return (std::filesystem::path(root) / path.substr(1)).lexically_normal().string();
  }
  return (std::filesystem::path(dir) / path).lexically_normal().string();  // absolute stays
}

}  // namespace

std::unique_ptr<YamlDocument> ParseYamlFile(const std::string& file, ConfigErrors* errors) {
  auto doc = YamlDocument::ReadFile(file);
  if (!doc.ok()) {
    errors->Add(std::string(doc.status().message()));
    return nullptr;
  }
  return *std::move(doc);
}

absl::Status LoadYamlMessage(const std::string& file, google::protobuf::Message* message) {
  ConfigErrors errors;
  if (auto doc = ParseYamlFile(file, &errors)) {
    YamlProtoMapper(&errors).Map(doc->root(), "", message);
  }
  return errors.empty() ? absl::OkStatus() : absl::InvalidArgumentError(errors.Joined());
}

void YamlProtoMapper::Error(YamlNode node, const std::string& path, const std::string& message) {
  errors_->Add(node.Mark(), path, message);
}

void YamlProtoMapper::Map(YamlNode node, const std::string& path, Message* message) {
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    Error(node, path, "expected a mapping of " + message->GetDescriptor()->name() + " fields");
    return;
  }
  const auto* descriptor = message->GetDescriptor();
  // Per field, the key that wrote it: a second one would silently replace or extend the first.
  std::vector<YamlNode> written(descriptor->field_count());
  for (size_t i = 0, n = node.size(); i < n; ++i) {
    YamlNode key = node.key(i);
    absl::string_view name = key.Scalar();
    const FieldDescriptor* field = descriptor->FindFieldByName(std::string(name));
    std::string field_path = path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
    if (field == nullptr) {
      std::vector<std::string> known;
      for (int f = 0; f < descriptor->field_count(); ++f)
        known.push_back(descriptor->field(f)->name());
      Error(key, field_path, absl::StrCat("unknown key (known: ", absl::StrJoin(known, ", "), ")"));
      continue;
    }
    YamlNode& first = written[field->index()];
    if (first) {
      Error(key, field_path, "written twice in one mapping (first at " + first.Mark() + ")");
      continue;
    }
    first = key;
    MapField(node.value(i), field_path, message, field);
  }
}

void YamlProtoMapper::MapField(YamlNode node, const std::string& path, Message* message,
                               const FieldDescriptor* field) {
  if (!field->is_repeated()) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Map(node, path, message->GetReflection()->MutableMessage(message, field));
    } else {
      MapScalar(node, path, message, field);
    }
    return;
  }
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    Error(node, path, "expected a list");
    return;
  }
  for (size_t i = 0, n = node.size(); i < n; ++i) {
    std::string item_path = absl::StrCat(path, "[", i, "]");
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Map(node[i], item_path, message->GetReflection()->AddMessage(message, field));
    } else {
      MapScalar(node[i], item_path, message, field);
    }
  }
}

void YamlProtoMapper::MapScalar(YamlNode node, const std::string& path, Message* message,
                                const FieldDescriptor* field) {
  const auto* r = message->GetReflection();
  if (field->type() == FieldDescriptor::TYPE_BYTES && bytes_hook_) {
    bytes_hook_(path, node, message, field);
    return;
  }
  if (!node.IsScalar()) {
    Error(node, path, std::string("expected a ") + field->type_name() + " value");
    return;
  }
  const std::string text(node.Scalar());
  bool repeated = field->is_repeated();
  auto fail = [&](const std::string& what) { Error(node, path, what + ", got '" + text + "'"); };
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        fail("binary values cannot be written here");
        return;
      }
      {
        std::string value = !path_base_.empty() && IsPathField(*field)
                                ? ResolveAgainst(path_base_, path_root_, text)
                                : text;
        repeated ? r->AddString(message, field, value) : r->SetString(message, field, value);
        return;
      }
    case FieldDescriptor::CPPTYPE_BOOL: {
      if (text != "true" && text != "false") return fail("expected true or false");
      repeated ? r->AddBool(message, field, text == "true")
               : r->SetBool(message, field, text == "true");
      return;
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return fail("expected an integer (32-bit)");
      repeated ? r->AddInt32(message, field, v) : r->SetInt32(message, field, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) return fail("expected an integer");
      repeated ? r->AddInt64(message, field, v) : r->SetInt64(message, field, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(text, &v)) return fail("expected a non-negative integer (32-bit)");
      repeated ? r->AddUInt32(message, field, v) : r->SetUInt32(message, field, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(text, &v)) return fail("expected a non-negative integer");
      repeated ? r->AddUInt64(message, field, v) : r->SetUInt64(message, field, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return fail("expected a number");
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        repeated ? r->AddFloat(message, field, static_cast<float>(v))
                 : r->SetFloat(message, field, static_cast<float>(v));
      } else {
        repeated ? r->AddDouble(message, field, v) : r->SetDouble(message, field, v);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* type = field->enum_type();
      // Values share the prefix of their *_UNSPECIFIED zero value (ROLE_, CARE_LEVEL_ …); the
      // short form drops it: "care_manager" for ROLE_CARE_MANAGER.
      std::string prefix = absl::AsciiStrToLower(type->value(0)->name());
      size_t cut = prefix.rfind("unspecified");
      prefix = cut == std::string::npos ? "" : prefix.substr(0, cut);
      const auto* value = type->FindValueByName(text);
      std::vector<std::string> shorts;
      for (int i = 1; i < type->value_count(); ++i) {
        std::string short_name = absl::AsciiStrToLower(type->value(i)->name());
        if (!prefix.empty() && short_name.rfind(prefix, 0) == 0) {
          short_name = short_name.substr(prefix.size());
        }
        if (value == nullptr && short_name == text) value = type->value(i);
        shorts.push_back(short_name);
      }
      if (value == nullptr || value->number() == 0) {
        return fail("expected one of " + absl::StrJoin(shorts, ", "));
      }
      repeated ? r->AddEnumValue(message, field, value->number())
               : r->SetEnumValue(message, field, value->number());
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return;  // handled by MapField
  }
}

}  // namespace kaigo::sdk

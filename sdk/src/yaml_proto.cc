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

std::string MarkOf(const std::string& file, const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  if (mark.line < 0) return file;
  return absl::StrCat(file, ":", mark.line + 1, ":", mark.column + 1);
}

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

bool ParseYamlFile(const std::string& file, YAML::Node* out, ConfigErrors* errors) {
  try {
    *out = YAML::LoadFile(file);
    return true;
  } catch (const YAML::BadFile&) {
    errors->Add(file, "", "cannot read the file");
  } catch (const YAML::ParserException& e) {
    errors->Add(absl::StrCat(file, ":", e.mark.line + 1, ":", e.mark.column + 1), "",
                "YAML syntax: " + e.msg);
  }
  return false;
}

absl::Status LoadYamlMessage(const std::string& file, google::protobuf::Message* message) {
  ConfigErrors errors;
  YAML::Node root;
  if (ParseYamlFile(file, &root, &errors)) {
    PositionIndex positions;
    YamlProtoMapper(file, &positions, &errors).Map(root, "", message);
  }
  return errors.empty() ? absl::OkStatus() : absl::InvalidArgumentError(errors.Joined());
}

void YamlProtoMapper::Error(const YAML::Node& node, const std::string& path,
                            const std::string& message) {
  errors_->Add(MarkOf(file_, node), path, message);
}

void YamlProtoMapper::Map(const YAML::Node& node, const std::string& path, Message* message) {
  (*positions_)[path] = MarkOf(file_, node);
  if (!node || node.IsNull()) return;
  if (!node.IsMap()) {
    Error(node, path, "expected a mapping of " + message->GetDescriptor()->name() + " fields");
    return;
  }
  const auto* descriptor = message->GetDescriptor();
  for (const auto& entry : node) {
    std::string key = entry.first.Scalar();
    const FieldDescriptor* field = descriptor->FindFieldByName(key);
    std::string field_path = path.empty() ? key : path + "." + key;
    if (field == nullptr) {
      std::vector<std::string> known;
      for (int i = 0; i < descriptor->field_count(); ++i)
        known.push_back(descriptor->field(i)->name());
      Error(entry.first, field_path,
            absl::StrCat("unknown key (known: ", absl::StrJoin(known, ", "), ")"));
      continue;
    }
    MapField(entry.second, field_path, message, field);
  }
}

void YamlProtoMapper::MapField(const YAML::Node& node, const std::string& path, Message* message,
                               const FieldDescriptor* field) {
  (*positions_)[path] = MarkOf(file_, node);
  if (!field->is_repeated()) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Map(node, path, message->GetReflection()->MutableMessage(message, field));
    } else {
      MapScalar(node, path, message, field);
    }
    return;
  }
  if (!node || node.IsNull()) return;
  if (!node.IsSequence()) {
    Error(node, path, "expected a list");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    std::string item_path = absl::StrCat(path, "[", i, "]");
    (*positions_)[item_path] = MarkOf(file_, node[i]);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Map(node[i], item_path, message->GetReflection()->AddMessage(message, field));
    } else {
      MapScalar(node[i], item_path, message, field);
    }
  }
}

void YamlProtoMapper::MapScalar(const YAML::Node& node, const std::string& path, Message* message,
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
  const std::string& text = node.Scalar();
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

#include "engine/router/descriptor_index.h"

#include <algorithm>
#include <functional>

namespace kaigo::engine {

using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;

void DescriptorIndex::AddFile(const FileDescriptorProto& file) {
  if (serialized_.count(file.name()) != 0) return;  // first version wins: the engine's
  serialized_[file.name()] = file.SerializeAsString();
  database_.Add(file);
}

absl::StatusOr<std::shared_ptr<const DescriptorIndex>> DescriptorIndex::Build(
    const std::vector<std::string>& engine_services,
    const std::vector<const google::protobuf::FileDescriptorSet*>& plugin_sets) {
  auto index = std::shared_ptr<DescriptorIndex>(new DescriptorIndex());
  std::set<std::string> services;
  std::function<void(const FileDescriptor*)> add_generated = [&](const FileDescriptor* file) {
    for (int i = 0; i < file->dependency_count(); ++i) add_generated(file->dependency(i));
    FileDescriptorProto proto;
    file->CopyTo(&proto);
    index->AddFile(proto);
  };
  for (const auto& name : engine_services) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) return absl::InternalError("engine service " + name + " is not linked");
    add_generated(service->file());
    services.insert(name);
  }
  for (const auto* set : plugin_sets) {
    for (const auto& file : set->file()) {
      index->AddFile(file);
      for (const auto& service : file.service()) {
        services.insert(file.package().empty() ? service.name()
                                               : file.package() + "." + service.name());
      }
    }
  }
  index->pool_ = std::make_unique<google::protobuf::DescriptorPool>(&index->database_);
  index->services_.assign(services.begin(), services.end());
  return std::shared_ptr<const DescriptorIndex>(index);
}

absl::StatusOr<std::vector<std::string>> DescriptorIndex::FileWithDependencies(
    const std::string& name) const {
  const FileDescriptor* file = pool_->FindFileByName(name);
  if (file == nullptr) return absl::NotFoundError("file not found: " + name);
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::function<void(const FileDescriptor*)> walk = [&](const FileDescriptor* f) {
    if (!seen.insert(f->name()).second) return;
    out.push_back(serialized_.at(f->name()));
    for (int i = 0; i < f->dependency_count(); ++i) walk(f->dependency(i));
  };
  walk(file);
  return out;
}

absl::StatusOr<std::vector<std::string>> DescriptorIndex::FileContainingSymbol(
    const std::string& symbol) const {
  const FileDescriptor* file = pool_->FindFileContainingSymbol(symbol);
  if (file == nullptr) return absl::NotFoundError("symbol not found: " + symbol);
  return FileWithDependencies(file->name());
}

absl::StatusOr<std::vector<std::string>> DescriptorIndex::FileContainingExtension(
    const std::string& extendee, int number) const {
  const google::protobuf::Descriptor* type = pool_->FindMessageTypeByName(extendee);
  if (type == nullptr) return absl::NotFoundError("type not found: " + extendee);
  const google::protobuf::FieldDescriptor* extension = pool_->FindExtensionByNumber(type, number);
  if (extension == nullptr) {
    return absl::NotFoundError("no extension " + std::to_string(number) + " of " + extendee);
  }
  return FileWithDependencies(extension->file()->name());
}

absl::StatusOr<std::vector<int>> DescriptorIndex::ExtensionNumbers(
    const std::string& extendee) const {
  const google::protobuf::Descriptor* type = pool_->FindMessageTypeByName(extendee);
  if (type == nullptr) return absl::NotFoundError("type not found: " + extendee);
  std::vector<const google::protobuf::FieldDescriptor*> extensions;
  pool_->FindAllExtensions(type, &extensions);
  std::vector<int> numbers;
  for (const auto* extension : extensions) numbers.push_back(extension->number());
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

bool DescriptorIndex::HasMessage(const std::string& full_name) const {
  return pool_->FindMessageTypeByName(full_name) != nullptr;
}

}  // namespace kaigo::engine

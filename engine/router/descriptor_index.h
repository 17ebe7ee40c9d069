// Every descriptor the engine serves, for server reflection: the engine's own services (admin,
// health, reflection) and every service of every routed plugin image, including services the
// engine was built without. Built from FileDescriptorProtos into a private pool, never the
// generated pool, so a plugin's files cannot clash with the process's.
//
// Immutable after Build; thread-safe to read.
#ifndef KAIGO_ENGINE_ROUTER_DESCRIPTOR_INDEX_H_
#define KAIGO_ENGINE_ROUTER_DESCRIPTOR_INDEX_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"

namespace kaigo::engine {

class DescriptorIndex {
 public:
  // `engine_services` are looked up in the generated pool; `plugin_sets` are the images' sets.
  // A file an image brings that the engine also has is served in the engine's version.
  static absl::StatusOr<std::shared_ptr<const DescriptorIndex>> Build(
      const std::vector<std::string>& engine_services,
      const std::vector<const google::protobuf::FileDescriptorSet*>& plugin_sets);

  const std::vector<std::string>& services() const { return services_; }
  // The serialized file and all its transitive dependencies, the file first.
  absl::StatusOr<std::vector<std::string>> FileWithDependencies(const std::string& name) const;
  absl::StatusOr<std::vector<std::string>> FileContainingSymbol(const std::string& symbol) const;
  // The file declaring extension `number` of message `extendee` (custom options: extendee
  // "google.protobuf.MethodOptions", "google.protobuf.FieldOptions", …), as above.
  absl::StatusOr<std::vector<std::string>> FileContainingExtension(const std::string& extendee,
                                                                   int number) const;
  // The numbers of every extension of message `extendee` the served files declare, ascending.
  absl::StatusOr<std::vector<int>> ExtensionNumbers(const std::string& extendee) const;
  bool HasMessage(const std::string& full_name) const;
  // Every file above, for JSON ⇄ binary conversion of the routed methods' messages.
  const google::protobuf::DescriptorPool& pool() const { return *pool_; }

 private:
  void AddFile(const google::protobuf::FileDescriptorProto& file);
  std::map<std::string, std::string> serialized_;  // file name → serialized proto
  google::protobuf::SimpleDescriptorDatabase database_;
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::vector<std::string> services_;
};

}  // namespace kaigo::engine

#endif  // KAIGO_ENGINE_ROUTER_DESCRIPTOR_INDEX_H_

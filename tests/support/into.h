// For tests written against the resource a method answers with (an application, a flow, a
// qualification) now that every method has a response message of its own carrying it:
//
//   v1::SubsidyApplication app;
//   ASSERT_TRUE(stub->CreateApplication(context, request, Into(&app)).ok());
//
// Into(&app) stands in for the response pointer; when the call's full expression ends it copies
// the response's one field of app's type into app when the call set it (so after a failed call
// app keeps what it held), and fails the test when the response has no field of that type.
#ifndef KAIGO_TESTS_SUPPORT_INTO_H_
#define KAIGO_TESTS_SUPPORT_INTO_H_

#include <memory>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "gtest/gtest.h"

namespace kaigo::testing {

template <class T>
class Into {
 public:
  explicit Into(T* out) : out_(out) {}
  Into(const Into&) = delete;
  Into& operator=(const Into&) = delete;
  ~Into() {
    if (response_ != nullptr) CopyOut(*response_);
  }

  template <class Resp>
  operator Resp*() {  // NOLINT: stands in for the response pointer
    auto* response = new Resp();
    response_.reset(response);
    return response;
  }

 private:
  void CopyOut(const google::protobuf::Message& response) {
    if (response.GetDescriptor() == T::descriptor()) {
      out_->CopyFrom(response);
      return;
    }
    const google::protobuf::Descriptor* d = response.GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const google::protobuf::FieldDescriptor* f = d->field(i);
      if (!f->is_repeated() && f->message_type() == T::descriptor()) {
        // Unset after a failed call: `out` keeps what it held, as with a resource pointer.
        if (response.GetReflection()->HasField(response, f)) {
          out_->CopyFrom(response.GetReflection()->GetMessage(response, f));
        }
        return;
      }
    }
    ADD_FAILURE() << d->full_name() << " carries no " << T::descriptor()->full_name();
  }

  T* out_;
  std::unique_ptr<google::protobuf::Message> response_;
};

}  // namespace kaigo::testing

#endif  // KAIGO_TESTS_SUPPORT_INTO_H_

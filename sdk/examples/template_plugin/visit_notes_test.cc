// Unit tests of the template plugin with the SDK's fake host: no engine, network or database.
#include <gtest/gtest.h>

#include "acme/visitnotes/v1/visit_notes.pb.h"
#include "kaigo/sdk/error_details.h"
#include "kaigo/sdk/fake_host.h"
#include "visit_notes_plugin.h"

namespace {

namespace vn = acme::visitnotes::v1;

const kaigo_plugin_api* Api() {
  static const kaigo_plugin_api* const api = kaigo::sdk::ExportPlugin(acme::DefineVisitNotes());
  return api;
}

vn::AddNoteRequest Note(const std::string& text) {
  vn::AddNoteRequest req;
  req.mutable_note()->mutable_recipient()->mutable_insurer()->set_value("131011");
  req.mutable_note()->mutable_recipient()->mutable_insured()->set_value("0000012345");
  req.mutable_note()->set_text(text);
  return req;
}

TEST(VisitNotesTest, AddsAndListsNotesInOrder) {
  kaigo::sdk::testing::FakeHost host;
  ASSERT_TRUE(host.Load(Api()).ok());
  for (const char* text : {"入浴介助", "服薬確認"}) {
    auto r = host.CallUnary<vn::AddNoteResponse>("/acme.visitnotes.v1.VisitNoteService/AddNote",
                                                 Note(text));
    ASSERT_TRUE(r.ok()) << r.status();
  }
  vn::ListNotesRequest list;
  *list.mutable_recipient() = Note("").note().recipient();
  auto result =
      host.Call("/acme.visitnotes.v1.VisitNoteService/ListNotes", list.SerializeAsString());
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_EQ(result.messages.size(), 2u);
  vn::VisitNote first;
  first.ParseFromString(result.messages[0]);
  EXPECT_EQ(first.text(), "入浴介助");
  EXPECT_EQ(host.Audits().size(), 2u);
}

TEST(VisitNotesTest, RejectsAWrongInsurerCheckDigit) {
  kaigo::sdk::testing::FakeHost host;
  ASSERT_TRUE(host.Load(Api()).ok());
  auto req = Note("x");
  req.mutable_note()->mutable_recipient()->mutable_insurer()->set_value("131012");
  auto r = host.CallUnary<vn::AddNoteResponse>("/acme.visitnotes.v1.VisitNoteService/AddNote", req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("note.recipient.insurer"), std::string::npos);
  google::rpc::BadRequest bad;  // what a program reads: the field's path and the rule
  ASSERT_TRUE(kaigo::sdk::FindDetail(r.status(), &bad));
  EXPECT_EQ(bad.field_violations(0).field(), "note.recipient.insurer.value");
  EXPECT_EQ(bad.field_violations(0).reason(), "INSURER_NUMBER");
}

}  // namespace

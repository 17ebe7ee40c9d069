#!/usr/bin/python3
"""A care office's session against kaigo-bridge, as its care software would run it.

Shows which plugins the engine runs and which concerns the office has; looks up three recipients'
qualification (保険者番号 + 被保険者番号) and reads what a care office needs from each; checks a
pending certification and downloads its 認定調査票, verifying the SHA-256; and relays a one-time
password end to end in the portal's first-time registration (the flow asks, an operator types the
code from the mail), first login and an added user; and
prepares the office's 助成金 application: estimate, draft, attachments, the portal's rules checked,
filed, and its status.

A refused call's google.rpc details (which field, which rule, when to retry, the message for
office staff) are read from the grpc-status-details-bin trailer (`error_text`).

Needs python3-grpcio and the messages generated from proto/ (scripts/demo.sh does both).
"""
import argparse
import threading
import time

import grpc
import hashlib
import os
import struct
import zlib

from google.rpc import error_details_pb2, status_pb2
from kaigo.v1 import (careplan_exchange_pb2, certification_pb2, common_pb2, engine_pb2, otp_pb2,
                      portal_registration_pb2, qualification_pb2, subsidy_pb2)

CARE_LEVELS = {
    common_pb2.CARE_LEVEL_NOT_APPLICABLE: "非該当", common_pb2.CARE_LEVEL_PROJECT_SUBJECT: "事業対象者",
    common_pb2.CARE_LEVEL_SUPPORT_1: "要支援1", common_pb2.CARE_LEVEL_SUPPORT_2: "要支援2",
    common_pb2.CARE_LEVEL_CARE_1: "要介護1", common_pb2.CARE_LEVEL_CARE_2: "要介護2",
    common_pb2.CARE_LEVEL_CARE_3: "要介護3", common_pb2.CARE_LEVEL_CARE_4: "要介護4",
    common_pb2.CARE_LEVEL_CARE_5: "要介護5", common_pb2.CARE_LEVEL_APPLYING: "申請中"}
VERDICTS = {
    qualification_pb2.QUALIFICATION_VERDICT_VALID: "有効 (valid)",
    qualification_pb2.QUALIFICATION_VERDICT_INVALID: "無効 — 有効期間切れ (expired)",
    qualification_pb2.QUALIFICATION_VERDICT_NEWER_EXISTS: "新しい資格情報あり (a newer one exists)",
    qualification_pb2.QUALIFICATION_VERDICT_NOT_FOUND: "該当なし (not found)",
    qualification_pb2.QUALIFICATION_VERDICT_SEVERAL_FOUND: "複数該当 (several found)"}
STAGES = {qualification_pb2.COST_LIMIT_STAGE_NONE: "認定なし", qualification_pb2.COST_LIMIT_STAGE_1: "第1段階",
          qualification_pb2.COST_LIMIT_STAGE_2: "第2段階", qualification_pb2.COST_LIMIT_STAGE_3A: "第3段階①",
          qualification_pb2.COST_LIMIT_STAGE_3B: "第3段階②", qualification_pb2.COST_LIMIT_STAGE_4: "第4段階"}


def error_text(e):
    """A refused call's code and message, and what its google.rpc details add: they travel in the
    trailer grpc-status-details-bin as a serialized google.rpc.Status."""
    text = f"{e.code().name}: {e.details()}"
    raw = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin")
    if not raw:
        return text
    status = status_pb2.Status.FromString(raw)
    for any_detail in status.details:
        for kind in (error_details_pb2.BadRequest, error_details_pb2.PreconditionFailure,
                     error_details_pb2.ErrorInfo, error_details_pb2.RetryInfo,
                     error_details_pb2.LocalizedMessage):
            if any_detail.Is(kind.DESCRIPTOR):
                detail = kind()
                any_detail.Unpack(detail)
                break
        else:
            continue
        if isinstance(detail, error_details_pb2.BadRequest):
            for v in detail.field_violations:
                staff = f" 「{v.localized_message.message}」" if v.localized_message.message else ""
                text += f"\n      field {v.field}: {v.reason or v.description}{staff}"
        elif isinstance(detail, error_details_pb2.PreconditionFailure):
            for v in detail.violations:
                text += f"\n      {v.type} {v.subject}: {v.description}"
        elif isinstance(detail, error_details_pb2.ErrorInfo):
            text += f"\n      reason {detail.reason} ({detail.domain}) {dict(detail.metadata)}"
        elif isinstance(detail, error_details_pb2.RetryInfo):
            text += f"\n      retry after {detail.retry_delay.ToTimedelta().total_seconds():g} s"
        else:
            text += f"\n      {detail.locale}: {detail.message}"
    return text


def date(d):
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}" if d.year else "—"


def lookups(channel, office):
    lookup = unary(channel, "/kaigo.v1.QualificationService/LookupByInsuredNumber",
                   qualification_pb2.LookupByInsuredNumberRequest,
                   qualification_pb2.LookupByInsuredNumberResponse, "qualification")
    print("\n資格確認 (qualification by 保険者番号 + 被保険者番号):")
    for insurer, insured in (("131011", "0000100004"), ("131011", "0000100007"),
                             ("122192", "0000100046")):
        request = qualification_pb2.LookupByInsuredNumberRequest(
            insurer=common_pb2.InsurerNumber(value=insurer),
            insured=common_pb2.InsuredNumber(value=insured))
        try:
            r = lookup(request, metadata=office)
        except grpc.RpcError as e:
            print(f"  {insurer}-{insured}: {error_text(e)}")
            continue
        period = r.care_level_period
        print(f"  {insurer}-{insured}: {VERDICTS.get(r.verdict)}  {CARE_LEVELS.get(r.care_level, '?')}"
              f"  認定有効期間 {date(period.start)}〜{date(period.end)}")
        print(f"      区分支給限度基準額 {r.monthly_limit_units:,}単位/月  負担割合 {r.copay_percent // 10}割"
              f" ({date(r.copay_period.start)}〜{date(r.copay_period.end)})"
              f"  負担限度額 {STAGES.get(r.cost_limit_stage, '—')}")
        print(f"      住宅改修 残り ¥{r.home_modification_remaining.amount:,} / ¥200,000"
              f"  福祉用具購入 残り ¥{r.equipment_purchase_remaining.amount:,} / ¥100,000 (今年度)")


def certification(channel, office, save_dir):
    recipient = common_pb2.RecipientKey(insurer=common_pb2.InsurerNumber(value="131011"),
                                        insured=common_pb2.InsuredNumber(value="0000100018"))
    progress = unary(channel, "/kaigo.v1.CertificationService/GetProgress",
                     certification_pb2.GetProgressRequest, certification_pb2.GetProgressResponse,
                     "progress")
    p = progress(certification_pb2.GetProgressRequest(recipient=recipient), metadata=office)
    print(f"\n要介護認定 131011-0000100018: "
          f"{certification_pb2.CertificationStatus.Name(p.status)} (申請 {date(p.application_date)}, "
          f"更新 {date(p.update_date)})")
    recipient.insured.value = "0000100004"
    documents = unary(channel, "/kaigo.v1.CertificationService/ListDocuments",
                      certification_pb2.ListDocumentsRequest, certification_pb2.ListDocumentsResponse)
    listed = documents(certification_pb2.ListDocumentsRequest(recipient=recipient), metadata=office)
    survey = next(d for d in listed.documents if d.kind == certification_pb2.DOCUMENT_KIND_SURVEY)
    fetch = channel.unary_stream("/kaigo.v1.CertificationService/FetchDocument",
                                 request_serializer=certification_pb2.FetchDocumentRequest.SerializeToString,
                                 response_deserializer=certification_pb2.FetchDocumentResponse.FromString)
    data, expected = b"", ""
    for chunk in fetch(certification_pb2.FetchDocumentRequest(recipient=recipient,
                                                               document_id=survey.document_id),
                       metadata=office):
        data += chunk.chunk.data
        expected = chunk.chunk.sha256 or expected
    ok = hashlib.sha256(data).hexdigest() == expected
    path = os.path.join(save_dir, survey.document_id + ".pdf")
    with open(path, "wb") as f:
        f.write(data)
    print(f"認定調査票 {survey.document_id}: {len(data):,} bytes, SHA-256 "
          f"{'一致 (matches)' if ok else '不一致 (MISMATCH)'} → {path}")


def sample_pdf(text):
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% " + text.encode() +
            b"\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def sample_png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(b"\0\x80\x80" * 2)) + chunk(b"IEND", b""))


def subsidy(channel, office):
    call = lambda name, req, resp, carries=None: unary(channel, "/kaigo.v1.SubsidyService/" + name,
                                                       req, resp, carries)
    rules = call("GetRules", subsidy_pb2.GetRulesRequest, subsidy_pb2.GetRulesResponse, "rules")(
        subsidy_pb2.GetRulesRequest(), metadata=office)
    print("\n助成金 (subsidy) — rules from", rules.source)
    for r in rules.rounds:
        print(f"  {r.name}: {date(r.open.start)} – {date(r.open.end)}{' (予定)' if r.planned else ''}")
    for c in rules.categories:
        print(f"  {c.name}: カードリーダー {c.readers_covered}台まで, 上限 ¥{c.cap.amount:,}")

    estimate = call("Estimate", subsidy_pb2.EstimateRequest, subsidy_pb2.EstimateResponse)(
        subsidy_pb2.EstimateRequest(service_types=[common_pb2.ServiceTypeCode(value="43")], readers=4,
                                    reader_cost=common_pb2.Yen(amount=36000),
                                    support_cost=common_pb2.Yen(amount=40000)), metadata=office)
    print("  見積り (estimate, 4 readers ¥36,000 + support ¥40,000):")
    for line in estimate.explanation:
        print("    " + line)

    form = subsidy_pb2.ApplicationForm(
        office_name="さくら居宅介護支援事業所", address="東京都千代田区霞が関1-2-2", phone="0312345678",
        service_types=[common_pb2.ServiceTypeCode(value="43")],
        readers=subsidy_pb2.ReaderPurchase(cost=common_pb2.Yen(amount=18000), model="ACR39-NTTCom",
                                           supports_qualification_app=True, count=2),
        support_cost=common_pb2.Yen(amount=30000),
        bank=subsidy_pb2.BankAccount(kind=subsidy_pb2.BANK_KIND_BANK, bank_name="みずほ銀行",
                                     bank_code="0001", branch_name="東京営業部", branch_code="001",
                                     account_type=subsidy_pb2.ACCOUNT_TYPE_ORDINARY,
                                     account_number="123456", holder_kana="ｻｸﾗｹｱ"))
    app = call("CreateApplication", subsidy_pb2.CreateApplicationRequest,
               subsidy_pb2.CreateApplicationResponse, "application")(
                   subsidy_pb2.CreateApplicationRequest(form=form), metadata=office)
    validate = call("ValidateApplication", subsidy_pb2.ValidateApplicationRequest,
                    subsidy_pb2.ValidateApplicationResponse, "report")
    report = validate(subsidy_pb2.ValidateApplicationRequest(id=app.id), metadata=office)
    print(f"  申請 {app.id}: 下書きの確認 (draft checked) — {len(report.errors)} 件の修正点:")
    for f in report.errors:
        print(f"    {f.field}: {f.message}")

    form.bank.account_number, form.bank.holder_kana = "1234567", "カ）サクラケアサービス"
    # The revision read travels with the change: a draft changed meanwhile is ABORTED, not overwritten.
    app = call("UpdateApplication", subsidy_pb2.UpdateApplicationRequest,
               subsidy_pb2.UpdateApplicationResponse, "application")(
        subsidy_pb2.UpdateApplicationRequest(id=app.id, form=form, revision=app.revision), metadata=office)
    attach = call("AddAttachment", subsidy_pb2.AddAttachmentRequest, subsidy_pb2.AddAttachmentResponse,
                  "application")
    receipt = lambda covers, amount, line: subsidy_pb2.ReceiptDetails(
        covers=covers, amount=common_pb2.Yen(amount=amount), lines=[line])
    for kind, name, content, details in [
            (subsidy_pb2.ATTACHMENT_KIND_PASSBOOK, "通帳.png", sample_png(), None),
            (subsidy_pb2.ATTACHMENT_KIND_SERVICE_TYPE_DOCUMENT, "指定通知書.pdf", sample_pdf("notice"), None),
            (subsidy_pb2.ATTACHMENT_KIND_RECEIPT, "領収書-リーダー.pdf", sample_pdf("reader"),
             receipt(subsidy_pb2.RECEIPT_COVERS_READERS, 18000, "ICカードリーダー ACR39-NTTCom ×2")),
            (subsidy_pb2.ATTACHMENT_KIND_RECEIPT, "領収書-設定.pdf", sample_pdf("support"),
             receipt(subsidy_pb2.RECEIPT_COVERS_SUPPORT, 30000, "介護情報基盤 接続設定作業一式"))]:
        app = attach(subsidy_pb2.AddAttachmentRequest(application_id=app.id, kind=kind, file_name=name,
                                                      content=content, receipt=details),
                     metadata=office)
    report = validate(subsidy_pb2.ValidateApplicationRequest(id=app.id), metadata=office)
    print(f"  修正・添付後 (fixed, 4 files attached): {'OK' if report.ok else 'NG'}, "
          f"round {report.round or '—'}, 助成見込額 ¥{report.grant.grant.amount:,}")
    for w in report.warnings:
        print(f"    注意 {w.field}: {w.message}")
    closed = [e for e in report.errors if e.field == "application_date"]
    if closed:
        # A real-world rule, not a fault: no round takes applications today. The draft stays.
        print(f"  本日は助成金の申請受付期間外のため、申請は送りません。下書き {app.id} は保存されています。"
              f"\n    ({closed[0].message})")
        return
    filed = call("SubmitApplication", subsidy_pb2.SubmitApplicationRequest,
                 subsidy_pb2.SubmitApplicationResponse, "application")(
        subsidy_pb2.SubmitApplicationRequest(id=app.id, revision=app.revision), metadata=office)
    status = call("GetStatus", subsidy_pb2.GetStatusRequest, subsidy_pb2.GetStatusResponse, "status")(
        subsidy_pb2.GetStatusRequest(id=app.id), metadata=office)
    print(f"  申請しました (filed): 申請番号 {filed.portal_application_id}, 申請日 {date(filed.submit_date)}, "
          f"状況 {subsidy_pb2.ApplicationStatus.Name(status.status)}")


def newest_mail(mail_dir, address, subject_part, pattern):
    """What `pattern` captures in the newest mail to `address` whose subject has `subject_part`."""
    import email
    import email.policy
    import glob
    import re
    for path in sorted(glob.glob(os.path.join(mail_dir, address, "new", "*")) +
                       glob.glob(os.path.join(mail_dir, address, "cur", "*")), reverse=True):
        with open(path, "rb") as f:
            mail = email.message_from_bytes(f.read(), policy=email.policy.default)
        if subject_part in str(mail["subject"]):
            found = re.search(pattern, mail.get_body(preferencelist=("plain",)).get_content())
            if found:
                return found.group(1)
    return None


def registration(channel, office, mail_dir, list_pending, provide):
    """初回利用登録 end to end: the engine's flow asks the OTP concern; the operator types the code
    from the office's mail (otp_relay)."""
    # Every step answers with the flow (its response's `flow`); AddUser with the user.
    call = lambda name, req, resp, carries="flow": unary(
        channel, "/kaigo.v1.PortalRegistrationService/" + name, req, resp, carries)
    step = lambda f: portal_registration_pb2.RegistrationStep.Name(f.next_step)
    address = "office@sakura.example"

    def operator():
        for _ in range(200):
            pending = list_pending(otp_pb2.ListPendingRequest(), metadata=office).pending
            if pending:
                code = newest_mail(mail_dir, address, "ワンタイムパスワード", r"ワンタイムパスワード：(\d+)")
                print(f"  オペレーター画面: 依頼 {pending[0].otp_id[:8]}… 宛先 {pending[0].recipient_hint}"
                      f" → メールのコード {code} を入力")
                provide(otp_pb2.ProvideOtpRequest(otp_id=pending[0].otp_id, code=code),
                        metadata=office)
                return
            time.sleep(0.05)

    print("\n初回利用登録 (first-time registration on the portal):")
    try:
        flow = call("StartFirstTimeRegistration", portal_registration_pb2.StartFirstTimeRegistrationRequest,
                    portal_registration_pb2.StartFirstTimeRegistrationResponse)(portal_registration_pb2.StartFirstTimeRegistrationRequest(
                        eclaim_user_id="KJ000000000017", eclaim_password="Eclaim#Sakura1"),
                        metadata=office)
    except grpc.RpcError as e:
        print(f"  {error_text(e)}")
        return
    print(f"  電子請求受付システムの認証 OK → {step(flow)}")
    helper = threading.Thread(target=operator)
    helper.start()
    flow = call("SubmitOneTimePassword", portal_registration_pb2.SubmitOneTimePasswordRequest,
                portal_registration_pb2.SubmitOneTimePasswordResponse)(portal_registration_pb2.SubmitOneTimePasswordRequest(flow_id=flow.flow_id),
                           metadata=office, timeout=60)
    helper.join()
    print(f"  ワンタイムパスワード OK → {step(flow)}")
    details = portal_registration_pb2.UserDetails(email=address, name="佐藤 花子",
                                                   name_kana="サトウ　ハナコ", phone="03-1234-5678")
    submit = call("SubmitUserDetails", portal_registration_pb2.SubmitUserDetailsRequest,
                  portal_registration_pb2.SubmitUserDetailsResponse)
    try:
        submit(portal_registration_pb2.SubmitUserDetailsRequest(flow_id=flow.flow_id, details=details),
               metadata=office)
    except grpc.RpcError as e:
        print(f"  入力ミスの例 (a typo): {error_text(e)}")
    details.phone = "0312345678"
    flow = submit(portal_registration_pb2.SubmitUserDetailsRequest(flow_id=flow.flow_id, details=details),
                  metadata=office)
    flow = call("Confirm", portal_registration_pb2.ConfirmRequest, portal_registration_pb2.ConfirmResponse)(
        portal_registration_pb2.ConfirmRequest(flow_id=flow.flow_id), metadata=office)
    initial = newest_mail(mail_dir, address, "ユーザ登録完了", r"初期パスワード：(\S+)")
    print(f"  登録しました → {step(flow)} (初期パスワードはメールで届きました)")
    helper = threading.Thread(target=operator)
    helper.start()
    flow = call("CompleteFirstLogin", portal_registration_pb2.CompleteFirstLoginRequest,
                portal_registration_pb2.CompleteFirstLoginResponse)(
        portal_registration_pb2.CompleteFirstLoginRequest(
            flow_id=flow.flow_id, initial_password=initial, new_password="Sakura2026portal",
            new_password_confirmation="Sakura2026portal", terms_accepted=True),
        metadata=office, timeout=60)
    helper.join()
    print(f"  初回ログイン完了 → マイページ: {flow.user_name} 様 / {flow.office_name}")
    user = call("AddUser", portal_registration_pb2.AddUserRequest, portal_registration_pb2.AddUserResponse,
                "user")(
        portal_registration_pb2.AddUserRequest(details=portal_registration_pb2.UserDetails(
            email="kanri@sakura.example", name="鈴木 一郎", name_kana="スズキ　イチロウ",
            phone="0312345679")), metadata=office)
    users = call("ListUsers", portal_registration_pb2.ListUsersRequest,
                 portal_registration_pb2.ListUsersResponse, None)(portal_registration_pb2.ListUsersRequest(),
                                                            metadata=office)
    print(f"  ユーザ追加: {user.user_id} (追加ユーザ {users.added}/{users.added_limit} 名)")


def careplan(channel, office, sample_dir):
    """ケアプランデータ連携: the month's 第6表/第7表 as the care software exported them."""
    cx = careplan_exchange_pb2
    service = "/kaigo.v1.CarePlanExchangeService/"
    validate = unary(channel, service + "ValidateCarePlan", cx.ValidateCarePlanRequest,
                     cx.ValidateCarePlanResponse)
    send = unary(channel, service + "SendCarePlan", cx.SendCarePlanRequest, cx.SendCarePlanResponse)
    list_sent = unary(channel, service + "ListSent", cx.ListSentRequest, cx.ListSentResponse)
    evidence = unary(channel, service + "ExportEvidence", cx.ExportEvidenceRequest,
                     cx.ExportEvidenceResponse)
    notify = unary(channel, service + "SubmitCarePlanRequestNotification",
                   cx.SubmitCarePlanRequestNotificationRequest,
                   cx.SubmitCarePlanRequestNotificationResponse)
    files = []
    for name in sorted(os.listdir(sample_dir)):
        with open(os.path.join(sample_dir, name), "rb") as f:
            files.append(cx.CsvFile(name=name, content=f.read()))
    print("\nケアプランデータ連携 (care-plan exchange, CSV 4.1):")
    checked = validate(cx.ValidateCarePlanRequest(files=files, strict=True), metadata=office)
    print(f"  {len(files)} files checked (strict): {checked.errors} errors, {checked.warnings} warnings")
    broken = cx.CsvFile(name=files[0].name, content=files[0].content.replace(b",111211,", b",11121,", 1))
    for f in validate(cx.ValidateCarePlanRequest(files=[broken], strict=True), metadata=office).findings:
        print(f"  壊れた例 (a broken copy): line {f.line} item {f.item_number} {f.item_name}: [{f.rule}] {f.message}")
    sent = send(cx.SendCarePlanRequest(
        files=files, destinations=[cx.Destination(office_number="1371000025", service_type="11")],
        request_id="demo-202611-tables"), metadata=office)
    for s in sent.sends:
        print(f"  送信しました (sent) to {s.destination.office_number}: 送信番号 {s.send_id}, 連番 {s.unit}")
        for f in s.files:
            print(f"    {f.name} {f.size:,} bytes SHA-256 {f.sha256[:16]}…")
    print(f"  送信済み (sent list): {len(list_sent(cx.ListSentRequest(), metadata=office).units)} units")
    records = evidence(cx.ExportEvidenceRequest(
        insurer=common_pb2.InsurerNumber(value="131011"),
        insured=common_pb2.InsuredNumber(value="0000100004"), month="202611"), metadata=office).records
    print(f"  証跡 (evidence) 131011-0000100004, 2026-11: {len(records)} records")
    # 居宅サービス計画作成依頼届出 for recipient #4, identity checked on documents and birth date
    # (the sandbox seeds birth dates as 1940-01-01 + 37 × i days).
    receipt = notify(cx.SubmitCarePlanRequestNotificationRequest(
        insurer=common_pb2.InsurerNumber(value="131011"),
        insured=common_pb2.InsuredNumber(value="0000100004"),
        kind=cx.SubmitCarePlanRequestNotificationRequest.KIND_NEW, care_manager_name="佐藤　一郎",
        numbers=cx.NumbersIdentity(birth_date=common_pb2.Date(year=1940, month=5, day=28),
                                   documents_checked=["介護保険被保険者証", "運転免許証"]),
        request_id="demo-todoke-0000100004"), metadata=office)
    print(f"  居宅サービス計画作成依頼届出: 受付番号 {receipt.notification_id}, "
          f"受付日 {date(receipt.accept_date)} "
          f"(本人確認: {cx.IdentityMethod.Name(receipt.identity_method)})")


def unary(channel, path, request_type, response_type, carries=None):
    """A unary call. `carries`: the field of the method's response holding the resource to return
    (every method has a response message of its own, most carrying one resource)."""
    rpc = channel.unary_unary(path, request_serializer=request_type.SerializeToString,
                              response_deserializer=response_type.FromString)
    if carries is None:
        return rpc
    return lambda *args, **kwargs: getattr(rpc(*args, **kwargs), carries)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--office", required=True, help="介護保険事業所番号")
    parser.add_argument("--save-dir", default=".", help="where downloaded documents go")
    parser.add_argument("--careplan-dir", default="careplan/testdata",
                        help="CSV files the care software exported (one send unit)")
    parser.add_argument("--admin-socket", default="build/demo/admin.sock",
                        help="the engine's admin socket (server.admin_socket)")
    parser.add_argument("--mail-dir", default="build/demo/sandbox/mail",
                        help="the sandbox's Maildirs (the office reads its mail there)")
    args = parser.parse_args()
    channel = grpc.insecure_channel(args.target)
    office = (("x-kaigo-office", args.office),)

    # Administration is not on the API port of a desk install: it answers on the engine's
    # owner-only admin socket.
    admin = grpc.insecure_channel("unix:" + os.path.abspath(args.admin_socket))
    plugins = unary(admin, "/kaigo.v1.EngineAdminService/ListPlugins",
                    engine_pb2.ListPluginsRequest, engine_pb2.ListPluginsResponse)
    print("プラグイン (plugins):")
    for p in plugins(engine_pb2.ListPluginsRequest()).plugins:
        print(f"   {p.name} {p.version} ({engine_pb2.PluginMaturity.Name(p.maturity)}, {p.vendor}): "
              f"{', '.join(p.services)}")

    offices = unary(admin, "/kaigo.v1.EngineAdminService/ListOffices",
                    engine_pb2.ListOfficesRequest, engine_pb2.ListOfficesResponse)
    for o in offices(engine_pb2.ListOfficesRequest()).offices:
        concerns = ", ".join(f"{b.service} → {b.plugin} {b.plugin_version}" for b in o.bindings)
        print(f"事業所 {o.number} {o.name}: {concerns}")

    lookups(channel, office)
    certification(channel, office, args.save_dir)
    subsidy(channel, office)
    careplan(channel, office, args.careplan_dir)

    request_otp = unary(channel, "/kaigo.v1.OtpService/RequestOtp",
                        otp_pb2.RequestOtpRequest, otp_pb2.RequestOtpResponse)
    list_pending = unary(channel, "/kaigo.v1.OtpService/ListPending",
                         otp_pb2.ListPendingRequest, otp_pb2.ListPendingResponse)
    provide = unary(channel, "/kaigo.v1.OtpService/ProvideOtp",
                    otp_pb2.ProvideOtpRequest, otp_pb2.ProvideOtpResponse)

    registration(channel, office, args.mail_dir, list_pending, provide)

    try:
        provide(otp_pb2.ProvideOtpRequest(otp_id="x", code="12ab"), metadata=office)
    except grpc.RpcError as e:
        print(f"\n入力ミスの例 (a typo): {error_text(e)}")


if __name__ == "__main__":
    main()

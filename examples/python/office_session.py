#!/usr/bin/python3
"""A care office's session against kaigo-bridge, as its care software would run it.

Shows which plugins the engine runs and which concerns the office has, and the
one-time-password relay end to end: the portal-registration flow asks for the OTP the platform
mailed; the office's operator sees the request and types the code; the flow receives it.

Needs python3-grpcio and the messages generated from proto/ (scripts/demo.sh does both).
"""
import argparse
import threading
import time

import grpc
from kaigo.v1 import engine_pb2, otp_pb2


def unary(channel, path, request_type, response_type):
    return channel.unary_unary(path, request_serializer=request_type.SerializeToString,
                               response_deserializer=response_type.FromString)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--office", required=True, help="介護保険事業所番号")
    args = parser.parse_args()
    channel = grpc.insecure_channel(args.target)
    office = (("x-kaigo-office", args.office),)

    plugins = unary(channel, "/kaigo.v1.EngineAdminService/ListPlugins",
                    engine_pb2.ListPluginsRequest, engine_pb2.ListPluginsResponse)
    print("プラグイン (plugins):")
    for p in plugins(engine_pb2.ListPluginsRequest()).plugins:
        print(f"   {p.name} {p.version} ({p.status}, {p.vendor}): {', '.join(p.services)}")

    offices = unary(channel, "/kaigo.v1.EngineAdminService/ListOffices",
                    engine_pb2.ListOfficesRequest, engine_pb2.ListOfficesResponse)
    for o in offices(engine_pb2.ListOfficesRequest()).offices:
        concerns = ", ".join(f"{b.service} → {b.plugin} {b.plugin_version}" for b in o.bindings)
        print(f"事業所 {o.number} {o.name}: {concerns}")

    request_otp = unary(channel, "/kaigo.v1.OtpService/RequestOtp",
                        otp_pb2.RequestOtpRequest, otp_pb2.RequestOtpResponse)
    list_pending = unary(channel, "/kaigo.v1.OtpService/ListPending",
                         otp_pb2.ListPendingRequest, otp_pb2.ListPendingResponse)
    provide = unary(channel, "/kaigo.v1.OtpService/ProvideOtp",
                    otp_pb2.ProvideOtpRequest, otp_pb2.ProvideOtpResponse)

    received = {}

    def registration_flow():
        request = otp_pb2.RequestOtpRequest(
            purpose=otp_pb2.OTP_PURPOSE_ECLAIM_REGISTRATION,
            recipient_hint="電子請求受付システムに登録のメールアドレス", timeout_seconds=60)
        received["reply"] = request_otp(request, metadata=office, timeout=70)

    flow = threading.Thread(target=registration_flow)
    flow.start()
    print("\n初回利用登録: ワンタイムパスワードを待っています (waiting for the one-time password)…")
    pending = []
    for _ in range(100):
        pending = list_pending(otp_pb2.ListPendingRequest(), metadata=office).pending
        if pending:
            break
        time.sleep(0.05)
    for p in pending:
        print(f"  オペレーター画面: 依頼 {p.request_id[:8]}… 宛先 {p.recipient_hint} "
              f"期限 {time.strftime('%H:%M:%S', time.localtime(p.expires_at))}")
    code = "482913"  # what the operator reads from the mail
    print(f"  オペレーターがメールのコード {code} を入力します")
    provide(otp_pb2.ProvideOtpRequest(request_id=pending[0].request_id, code=code),
            metadata=office)
    flow.join()
    print(f"登録処理がコードを受け取りました (the flow received): {received['reply'].code}")

    try:
        provide(otp_pb2.ProvideOtpRequest(request_id="x", code="12ab"), metadata=office)
    except grpc.RpcError as e:
        print(f"\n入力ミスの例 (a typo): {e.code().name}: {e.details()}")


if __name__ == "__main__":
    main()

"""`paydesk ipn verify`: exit 0 with the notification as JSON, or exit 1 saying exactly why."""

from __future__ import annotations

import argparse
import io
import json

import pytest
from test_sns_support import (
    AMAZON_PAY_SAMPLE,
    AMAZON_PAY_SAMPLE_CERT,
    AWS_SAMPLE_CERT,
    AWS_SAMPLES,
    SANDBOX_PREFIX,
    certificate_pem,
    ipn_message,
    rsa_key,
    signed_notification,
)

from paydesk.amazonpay import sns_cli


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="paydesk ipn")
    sns_cli.add_arguments(parser)
    return sns_cli.run(parser.parse_args(argv))


@pytest.fixture
def sample_args():
    return [
        str(AMAZON_PAY_SAMPLE),
        "--cert-file",
        str(AMAZON_PAY_SAMPLE_CERT),
        "--at",
        "2015-05-01T00:00:00Z",
    ]


def test_amazon_pays_sample_verifies_at_its_time_and_prints_the_notification(sample_args, capsys):
    assert run("verify", *sample_args, "--seller-id", "AQR8184NJXADU") == 0

    printed = json.loads(capsys.readouterr().out)
    assert printed["sns"]["message_id"] == "15e7412b-e9ac-5f6a-b6df-0c909df567a0"
    assert printed["ipn"]["notification_type"] == "OrderReferenceNotification"
    assert printed["ipn"]["seller_id"] == "AQR8184NJXADU"
    assert printed["ipn"]["timestamp"] == "2015-04-30T00:06:49.370000Z"
    assert printed["ipn"]["is_sample"] is True


def test_without_at_the_sample_is_refused_because_its_certificate_expired(capsys):
    assert run("verify", str(AMAZON_PAY_SAMPLE), "--cert-file", str(AMAZON_PAY_SAMPLE_CERT)) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "refused (certificate_expired): The signing certificate is valid from 2014-08-23" in captured.err


def test_a_tampered_file_is_refused_as_a_bad_signature(tmp_path, capsys):
    tampered = tmp_path / "ipn.json"
    tampered.write_bytes(AMAZON_PAY_SAMPLE.read_bytes().replace(b"AmazonClosed", b"SellerClosed"))

    assert run("verify", str(tampered), "--cert-file", str(AMAZON_PAY_SAMPLE_CERT), "--at", "2015-05-01") == 1
    assert "refused (bad_signature)" in capsys.readouterr().err


def test_a_notification_for_another_seller_is_refused_as_wrong_seller(sample_args, capsys):
    assert run("verify", *sample_args, "--seller-id", "A1OTHERSELLER9") == 1
    assert "refused (wrong_seller): The notification is for seller AQR8184NJXADU" in capsys.readouterr().err


def test_a_notification_from_another_topic_is_refused_as_wrong_topic(sample_args, capsys):
    assert run("verify", *sample_args, "--seller-id", "AQR8184NJXADU", "--topic-arn", "arn:aws:sns:x") == 1
    assert "refused (wrong_topic)" in capsys.readouterr().err


def test_a_malformed_file_is_refused_as_malformed(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'{"Type": "Notification",')

    assert run("verify", str(broken), "--cert-file", str(AMAZON_PAY_SAMPLE_CERT)) == 1
    assert "refused (malformed): The SNS message is not valid JSON" in capsys.readouterr().err


def test_a_certificate_url_off_sns_is_refused_as_untrusted(tmp_path, capsys):
    message = tmp_path / "ipn.json"
    message.write_bytes(signed_notification(SigningCertURL="https://evil.example/sns.pem"))
    cert = tmp_path / "cert.pem"
    cert.write_bytes(certificate_pem())

    assert run("verify", str(message), "--cert-file", str(cert), "--at", "2026-01-15T12:00:00+00:00") == 1
    assert "refused (untrusted_cert_url)" in capsys.readouterr().err


def test_the_sandbox_prefix_option_trusts_the_offline_sandboxs_certificate(tmp_path, capsys):
    message = tmp_path / "ipn.json"
    message.write_bytes(
        signed_notification(
            SigningCertURL=SANDBOX_PREFIX + "SimpleNotificationService-sandbox.pem",
            Message=ipn_message(seller_id="A2K7NDRCTOTPW9"),
        )
    )
    cert = tmp_path / "cert.pem"
    cert.write_bytes(certificate_pem(rsa_key()))
    common = [str(message), "--cert-file", str(cert), "--at", "2026-01-15T12:00:00"]

    assert run("verify", *common) == 1
    assert "untrusted_cert_url" in capsys.readouterr().err
    assert run("verify", *common, "--sandbox-cert-url-prefix", SANDBOX_PREFIX) == 0
    assert json.loads(capsys.readouterr().out)["ipn"]["seller_id"] == "A2K7NDRCTOTPW9"


def test_a_subscription_confirmation_is_verified_and_printed_without_an_ipn(capsys):
    raw = str(AWS_SAMPLES / "subscription-confirmation.json")

    assert run("verify", raw, "--cert-file", str(AWS_SAMPLE_CERT), "--at", "2026-03-07T00:00:00Z") == 0

    printed = json.loads(capsys.readouterr().out)
    assert printed["sns"]["type"] == "SubscriptionConfirmation"
    assert printed["sns"]["subscribe_url"].startswith("https://sns.us-west-2.amazonaws.com/?Action=Confirm")
    assert "ipn" not in printed


def test_the_message_can_come_from_standard_input(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(AMAZON_PAY_SAMPLE.read_bytes())))

    assert run("verify", "-", "--cert-file", str(AMAZON_PAY_SAMPLE_CERT), "--at", "2015-05-01T00:00:00Z") == 0
    assert json.loads(capsys.readouterr().out)["ipn"]["seller_id"] == "AQR8184NJXADU"


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "/nonexistent/ipn.json"],
        ["verify", str(AMAZON_PAY_SAMPLE), "--at", "last tuesday"],
        ["verify", str(AMAZON_PAY_SAMPLE), "--cert-file", "/nonexistent/cert.pem"],
        ["verify", str(AMAZON_PAY_SAMPLE), "--topic-arn", "arn:aws:sns:x"],
        ["verify", str(AMAZON_PAY_SAMPLE), "--sandbox-cert-url-prefix", "http://127.0.0.1:8001"],
    ],
)
def test_bad_invocations_exit_1_with_a_message(argv, capsys):
    assert run(*argv) == 1
    assert capsys.readouterr().err.startswith("paydesk ipn verify: ")


def test_an_unreadable_certificate_file_exits_1(tmp_path, capsys):
    cert = tmp_path / "cert.pem"
    cert.write_bytes(b"not a certificate")

    assert run("verify", str(AMAZON_PAY_SAMPLE), "--cert-file", str(cert)) == 1
    assert "refused (certificate_unavailable)" in capsys.readouterr().err

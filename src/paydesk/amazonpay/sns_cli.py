"""`paydesk ipn verify FILE [--cert-file PEM] [--at TIME]`: check a raw SNS message as the endpoint would.
`paydesk ipn prune --refused-older-than DAYS`: delete requests the endpoint refused for good.

Prints the parsed notification as JSON and exits 0, or says why it was refused and exits 1. To
register it, `paydesk.cli.COMMANDS` gets `"ipn": ("paydesk.amazonpay.sns_cli", "...")`.

With --cert-file the given certificate stands in for the one at SigningCertURL (the URL must still
be an SNS address); with --at the certificate's validity is judged at that time instead of now,
which is how Amazon's published samples, whose certificates expired long ago, can be checked.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paydesk.amazonpay.sns import IpnMessage, SnsMessage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="ipn_action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="verify a raw SNS message (an Amazon Pay IPN) and print it as JSON",
        description="Verify a raw SNS message as the IPN endpoint would; exit 0 if accepted, 1 if not.",
    )
    verify.add_argument("file", metavar="FILE", help="the HTTP body SNS posted, or - for standard input")
    verify.add_argument("--cert-file", metavar="PEM", help="use this certificate instead of fetching one")
    verify.add_argument(
        "--at",
        metavar="TIME",
        help="judge certificate validity at this ISO 8601 time (default: now; UTC if no offset is given)",
    )
    verify.add_argument("--seller-id", metavar="ID", help="refuse notifications for any other seller")
    verify.add_argument("--topic-arn", metavar="ARN", help="refuse notifications from any other topic")
    verify.add_argument(
        "--sandbox-cert-url-prefix",
        metavar="URL",
        help="also trust the offline sandbox's certificates under this URL prefix (never in live mode)",
    )
    prune = actions.add_parser(
        "prune",
        help="delete requests the IPN endpoint refused for good (forged, malformed) after DAYS days",
        description="Delete stored IPN requests refused as forged or malformed, or whose certificate could "
        "not be fetched, received more than DAYS days ago. Accepted notifications, duplicates and "
        "verified notifications whose data could not be read are never deleted.",
    )
    prune.add_argument("--refused-older-than", metavar="DAYS", type=int, required=True)
    prune.add_argument("--data-dir", help="where SQLite and the generated secret live (default ./var)")


def run(args: argparse.Namespace) -> int:
    if args.ipn_action == "prune":
        return _prune(args)
    from paydesk.amazonpay import sns

    if args.topic_arn and not args.seller_id:
        print("paydesk ipn verify: --topic-arn needs --seller-id", file=sys.stderr)
        return 1
    try:
        body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        at = _parse_at(args.at)
        policy = (
            sns.TrustPolicy.offline_sandbox(args.sandbox_cert_url_prefix)
            if args.sandbox_cert_url_prefix
            else sns.TrustPolicy.live()
        )
        certificates: sns.CertificateSource = (
            sns.StaticCertificateSource(Path(args.cert_file).read_bytes())
            if args.cert_file
            else sns.HttpsCertificateSource.for_policy(policy)
        )
    except (OSError, ValueError) as exc:
        print(f"paydesk ipn verify: {exc}", file=sys.stderr)
        return 1
    except sns.SnsVerificationError as refusal:  # an unreadable --cert-file
        print(f"refused ({refusal.reason}): {refusal}", file=sys.stderr)
        return 1

    try:
        msg = sns.parse_envelope(body)
        sns.verify(msg, policy=policy, certificates=certificates, at=at)
        report: dict[str, Any] = {"sns": _sns_fields(msg)}
        if msg.type is sns.MessageType.NOTIFICATION:
            ipn = sns.parse_ipn_message(msg)
            if args.seller_id:
                sns.check_belongs_to_store(ipn, seller_id=args.seller_id, topic_arn=args.topic_arn)
            report["ipn"] = _ipn_fields(ipn)
    except sns.SnsVerificationError as refusal:
        print(f"refused ({refusal.reason}): {refusal}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def _prune(args: argparse.Namespace) -> int:
    if args.refused_older_than < 0:
        print("paydesk ipn prune: --refused-older-than must be 0 or more days", file=sys.stderr)
        return 2
    from paydesk.web.django_setup import setup

    setup(args.data_dir)
    from datetime import timedelta

    from paydesk.amazonpay import inbox

    deleted = inbox.prune_refused(older_than=timedelta(days=args.refused_older_than))
    print(f"paydesk ipn prune: deleted {deleted} refused request{'' if deleted == 1 else 's'}")
    return 0


def _parse_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"--at {text!r} is not an ISO 8601 time") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _sns_fields(msg: SnsMessage) -> dict[str, Any]:
    fields = {
        "type": str(msg.type),
        "message_id": msg.message_id,
        "topic_arn": msg.topic_arn,
        "timestamp": msg.timestamp,
        "signature_version": msg.signature_version,
        "signing_cert_url": msg.signing_cert_url,
        "subject": msg.subject,
        "subscribe_url": msg.subscribe_url,
        "unsubscribe_url": msg.unsubscribe_url,
    }
    return {name: value for name, value in fields.items() if value is not None}


def _ipn_fields(ipn: IpnMessage) -> dict[str, Any]:
    return {
        "notification_type": ipn.notification_type,
        "seller_id": ipn.seller_id,
        "release_environment": ipn.release_environment,
        "marketplace_id": ipn.marketplace_id,
        "notification_reference_id": ipn.notification_reference_id,
        "timestamp": ipn.timestamp.isoformat().replace("+00:00", "Z"),
        "is_sample": ipn.is_sample,
        "version": ipn.version,
        "event_type": ipn.event_type,
        "notification_data": ipn.notification_data,
    }

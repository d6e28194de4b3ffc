"""How long Amazon usually takes to decide, so Paydesk can tell "pending" from "late".

Amazon documents: an asynchronous authorization takes "a minute or more" and at most its
TransactionTimeout (default 24 h); a capture is Pending only past the 7-day honor period or in
rare reviews; a refund takes "up to several hours" live and about 30 s in Amazon's sandbox
(docs/amazon-pay-v1.md §3, §6). These thresholds say when a merchant should look, not when
Amazon is wrong.
"""

from __future__ import annotations

from datetime import timedelta

from paydesk.payments.states import Kind

EXPECTED_DECISION = {
    Kind.AUTHORIZATION: timedelta(hours=1),
    Kind.CAPTURE: timedelta(hours=1),
    Kind.REFUND: timedelta(hours=24),
}
# Paydesk's own "Unknown": the client gives up well within this, so older means no answer came.
UNKNOWN_SETTLES_WITHIN = timedelta(minutes=3)
# Authorizations this close to their ExpirationTimestamp need capturing (or reauthorizing) soon.
EXPIRY_WARNING = timedelta(days=7)

"""Amazon Pay Checkout v1 (MWS "Off-Amazon Payments", API version 2013-01-01) for Paydesk.

The pure, Django-free parts - import them from their modules:

- `paydesk.amazonpay.client`: `AmazonPayClient`, one method per operation.
- `paydesk.amazonpay.details`: the typed results (`OrderReference`, `Authorization`, `Capture`,
  `Refund`, `ServiceStatus`, `Status`, ...), shared with the IPN parser.
- `paydesk.amazonpay.replies`: XML elements -> those types (API replies and IPN NotificationData).
- `paydesk.amazonpay.errors`: the exceptions a caller matches on.
- `paydesk.amazonpay.retry`: `RetryPolicy`, the `RateLimiter` protocol, `TokenBucketRateLimiter`.
- `paydesk.amazonpay.signing`, `.regions`, `.parameters`, `.redaction`: wire details.

This file stays free of imports so that Django modules living in this package can load without
pulling in the HTTP client.
"""

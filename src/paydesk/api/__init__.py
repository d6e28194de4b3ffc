"""Paydesk's REST API (`/api/v1/`): orders, payments and the payment actions as JSON, for
programs rather than people. It reads what the order pages read and acts through the same
payment service (`paydesk.amazonpay.services`), with the same permissions."""

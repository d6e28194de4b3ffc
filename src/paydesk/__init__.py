"""Paydesk: the Amazon Pay (Checkout v1) order desk for online stores."""

__version__ = "0.1.0"

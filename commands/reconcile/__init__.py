"""Reconciliation with Stripe: money that moved there, found, recorded once or reported."""

"""E-mail notifications: decided once from the log, delivered with retries.

- ``notifier``: a follower of the notification log that decides which e-mails an
  event calls for and records them, with its position, in one transaction;
- ``sender``: delivers recorded e-mails, retrying with backoff, never more than
  ``max_attempts`` times;
- ``messages``: what each e-mail says (plain text and HTML);
- ``ports``: the mailer and the delivery log, implemented in ``infra``.

A failed e-mail is a row marked ``failed``; it never touches an order or a payment.
"""

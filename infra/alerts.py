"""Operator alerts. For now they go to the log (the e-mail sender arrives with notifications)."""

import logging

log = logging.getLogger("orderledger.alerts")


class LoggingAlerts:
    def alert(self, subject: str, text: str) -> None:
        log.error("ALERT %s: %s", subject, text)

"""The worker's file duty: sweep objects that belong to nothing, every FILES_SWEEP_SECONDS."""

import logging
import threading
from dataclasses import replace
from datetime import timedelta

from commands.files.sweep import Swept, sweep_unused_files
from infra.container import Container

log = logging.getLogger(__name__)


def sweep_files(container: Container, *, grace: timedelta | None = None) -> Swept:
    """One sweep now (``orderledger files sweep`` and the worker)."""
    files = container.files
    if files is None:
        return Swept()
    policy = files.policy if grace is None else replace(files.policy, sweep_grace=grace)
    with container.services.locks.hold("files-sweep"):
        return sweep_unused_files(container.services, files.storage, files.reads, policy)


def run_file_sweeper(container: Container, stop: threading.Event) -> None:
    every = container.files.sweep_seconds if container.files else 300.0
    while not stop.wait(every):
        try:
            swept = sweep_files(container)
            if swept.files or swept.abandoned_uploads:
                log.info(
                    "swept %d unused files and %d abandoned uploads",
                    len(swept.files),
                    len(swept.abandoned_uploads),
                )
        except Exception:
            log.exception("file sweep failed; trying again later")

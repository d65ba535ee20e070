"""A dialer that appends every dispatch to a file, for multi-process tests.

Used through ECM_DIALER_FACTORY="tests.feed.recording:file_dialer"; the file named by
the app config ECM_RECORD_FILE gets one "contact_id,attempt_number,pid" line per dial.
"""

from __future__ import annotations

import os

from flask import current_app


class FileRecordingDialer:
    name = "file-recording"

    def __init__(self, path: str) -> None:
        self.path = path

    def list_campaigns(self):
        return []

    def dispatch(self, requests) -> None:
        lines = "".join(
            f"{r.contact_id},{r.attempt_number},{os.getpid()}\n" for r in requests
        )
        with open(self.path, "a", encoding="ascii") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())

    def collect_results(self):
        return []


def file_dialer(now):
    return FileRecordingDialer(current_app.config["ECM_RECORD_FILE"])

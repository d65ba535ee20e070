"""The old name of `portal.services.uploads`, kept only for `worker/jobs.py`.

New code imports `portal.services.uploads`; this module goes when the worker does.
"""

from portal.services.uploads import resume_stale, run_import

__all__ = ["resume_stale", "run_import"]

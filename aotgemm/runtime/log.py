"""The runtime's logger: ``logging.getLogger("aotgemm")``, level from AOTGEMM_LOG.

Its level is set once, at the first record: AOTGEMM_LOG's where that is set; else a level the application gave
the logger before then stays (setting the default over it had silenced an application's ``setLevel(INFO)``
made before the first record); else WARNING.

Records always propagate to the application's handlers. When the
application has configured none (the root logger has no handler), a stderr
handler is attached so that AOTGEMM_LOG=info/debug shows something; a later
``logging.basicConfig`` does not duplicate lines because that handler only
emits while the root logger still has no handler of its own.
"""

from __future__ import annotations

import logging
import sys

from .. import config

LOGGER_NAME = "aotgemm"
_configured = False


class _FallbackStderr(logging.StreamHandler):
    """Writes to stderr only while the application has no root handler."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("aotgemm: %(levelname)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers:
            return  # the application logs it through its own handlers
        super().emit(record)


def get_logger() -> logging.Logger:
    global _configured
    logger = logging.getLogger(LOGGER_NAME)
    if not _configured:
        _configured = True
        if config.log_level_set() or logger.level == logging.NOTSET:
            level = logging.getLevelName(config.log_level())
            logger.setLevel(level if isinstance(level, int) else logging.WARNING)
        if not any(isinstance(h, _FallbackStderr) for h in logger.handlers):
            logger.addHandler(_FallbackStderr())
    return logger

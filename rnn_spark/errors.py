"""Errors a user can act on.

Anything raised as a :class:`UserError` (or a subclass) is reported by the CLI and the jobs/ entry
points as one line -- what was wrong, where, what to do -- with exit code 2 and no traceback.
"""


class UserError(Exception):
    """Bad input, bad configuration or an unreachable service: the user can fix it."""

    exit_code = 2


class ConfigError(UserError):
    """An invalid configuration value (names the key and the allowed values)."""


class DataError(UserError):
    """Bad input data (names the file, row and field)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with one line saying where the work stands and how to continue it (the CLI prints
    that line instead of a bare "aborted")."""

"""Filesystem errors: one line each, naming the URI and the cause.

All of them are :class:`rnn_spark.errors.UserError`, so the CLI and the jobs/ entry points print the
message alone and exit with code 2.
"""

from rnn_spark.errors import UserError


class FsError(UserError):
    """A filesystem operation failed; ``str(err)`` is ``"<uri>: <cause>"``."""

    def __init__(self, uri, cause):
        self.uri = uri
        self.cause = cause
        super().__init__(f"{uri}: {cause}")


class FsNotFound(FsError):
    """The path does not exist (or a parent directory is missing)."""

    def __init__(self, uri, cause="not found"):
        super().__init__(uri, cause)


class FsExists(FsError):
    """The destination exists and overwriting was not asked for."""

    def __init__(self, uri, cause="already exists (pass --overwrite to replace it)"):
        super().__init__(uri, cause)


class FsUnreachable(FsError):
    """The storage service (NameNode / DataNode) did not answer in time."""


class FsPermission(FsError):
    """Access denied (file permissions, HDFS ACLs, authentication)."""

    def __init__(self, uri, cause="permission denied"):
        super().__init__(uri, cause)


class FsAuthError(FsPermission):
    """Authentication failed or is impossible (no Kerberos ticket, an expired token)."""

    def __init__(self, uri, cause):
        super().__init__(uri, cause)

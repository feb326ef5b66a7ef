"""A user error raised inside a task reaches the driver's user as that one line.

On Spark, an exception in a task comes back to the driver as a Py4J error whose text is the Java
stack plus the Python traceback (hundreds of lines), after Spark has retried the task up to
``spark.task.maxFailures`` times. So the task wrapper (runners/spark.py) hands a
:class:`~rnn_spark.errors.UserError` raised by a task to :func:`capture`, which

- for a deterministic error (bad data, bad configuration: a retry cannot help) returns a
  :class:`TaskError` value in place of the task's result: the job ends normally, nothing is
  retried and no stack is logged; the runner raises it again on the driver (:meth:`TaskError.rebuild`)
  as the same class with the same message;
- for a transient one (:class:`~rnn_spark.fs.FsUnreachable`: a retry on another executor may
  succeed) raises again with the class and message encoded in one marker line, which
  :func:`find_in_text` recovers from the Spark error text if every attempt fails.
"""

from __future__ import annotations

import base64
import importlib
import json
import re
from dataclasses import dataclass

from rnn_spark.errors import UserError
from rnn_spark.fs import FsUnreachable

_MARKER = re.compile(r"RNN_SPARK_USER_ERROR<([A-Za-z0-9+/=]+)>")
_SIMPLE = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class TaskError:
    """A user error a task raised, as plain data: it pickles whatever the exception's constructor."""

    module: str
    qualname: str
    message: str
    attrs: tuple[tuple[str, object], ...] = ()  # simple attributes (e.g. FsError.uri, .cause)

    @classmethod
    def of(cls, exc: UserError) -> "TaskError":
        attrs = tuple((k, v) for k, v in sorted(vars(exc).items()) if isinstance(v, _SIMPLE))
        return cls(type(exc).__module__, type(exc).__qualname__, str(exc), attrs)

    def rebuild(self) -> UserError:
        """The same exception class (UserError if it cannot be found) with the same message."""
        cls = UserError
        try:
            found = importlib.import_module(self.module)
            for part in self.qualname.split("."):
                found = getattr(found, part)
            if isinstance(found, type) and issubclass(found, UserError):
                cls = found
        except (ImportError, AttributeError):
            pass
        exc = cls.__new__(cls)
        Exception.__init__(exc, self.message)  # whatever cls's own constructor takes
        exc.__dict__.update(dict(self.attrs))
        return exc

    def marker(self) -> str:
        payload = json.dumps([self.module, self.qualname, self.message, list(self.attrs)])
        return f"RNN_SPARK_USER_ERROR<{base64.b64encode(payload.encode()).decode()}>"


def capture(exc: UserError) -> TaskError:
    """What a task returns instead of raising `exc`; raises again (marked) if a retry may help."""
    err = TaskError.of(exc)
    if isinstance(exc, FsUnreachable):
        raise RuntimeError(err.marker()) from None
    return err


def find_in_text(text: str) -> UserError | None:
    """The user error marked in a Spark error's text (the last one: the final attempt's), if any."""
    found = _MARKER.findall(text)
    if not found:
        return None
    module, qualname, message, attrs = json.loads(base64.b64decode(found[-1]))
    return TaskError(module, qualname, message, tuple(tuple(a) for a in attrs)).rebuild()

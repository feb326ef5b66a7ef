"""Hadoop delegation tokens from a YARN container's credentials file, in pure Python.

On a Kerberos cluster a YARN container (a Spark executor, a cluster-mode driver) has no ticket:
YARN puts the application's tokens in a file named by ``HADOOP_TOKEN_FILE_LOCATION``, Hadoop's
``Credentials`` storage format: the magic ``HDTS``, a version byte, then

* version 0 ("Writable"): a vint count of tokens, each ``alias`` (Text), ``identifier``,
  ``password`` (vint length + bytes), ``kind``, ``service`` (Text); then the secret keys;
* version 1 (protobuf): one length-delimited ``CredentialsProto`` (repeated ``CredentialsKVProto``
  {alias = 1, TokenProto token = 2 {identifier = 1, password = 2, kind = 3, service = 4}}).

WebHDFS takes an HDFS delegation token as ``delegation=`` in Hadoop's ``Token.encodeToUrlString``
form: the token's Writable bytes in URL-safe base64 without padding (:func:`url_string`).
The identifier of an HDFS token says whose it is and until when it can be renewed
(:func:`describe`). Nothing here needs Kerberos libraries: executors use only this.
"""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass

MAGIC = b"HDTS"
HDFS_KINDS = ("HDFS_DELEGATION_TOKEN", "WEBHDFS delegation", "SWEBHDFS delegation")
TOKEN_FILE_ENV = "HADOOP_TOKEN_FILE_LOCATION"


class TokenFileError(ValueError):
    """The credentials file cannot be read as Hadoop's format."""


@dataclass(frozen=True)
class Token:
    kind: str
    service: str
    identifier: bytes
    password: bytes
    alias: str = ""

    def url_string(self) -> str:
        """``Token.encodeToUrlString``: what WebHDFS takes as ``delegation=``."""
        out = io.BytesIO()
        for part in (self.identifier, self.password, self.kind.encode(), self.service.encode()):
            out.write(_vint_bytes(len(part)))
            out.write(part)
        return base64.urlsafe_b64encode(out.getvalue()).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class TokenInfo:
    """What an HDFS delegation token identifier says (times in ms since the epoch)."""

    owner: str
    renewer: str
    real_user: str
    issue_date: int
    max_date: int
    sequence_number: int

    @property
    def user(self) -> str:
        """The short user name HDFS knows the owner by (``alice@REALM`` -> ``alice``)."""
        return short_name(self.owner)


def short_name(principal: str) -> str:
    """Hadoop's default auth_to_local rule: the first component of a principal."""
    return principal.split("@", 1)[0].split("/", 1)[0]


# -- Hadoop's variable-length integers (WritableUtils.writeVLong) -------------------------------

def _vint_bytes(value: int) -> bytes:
    if -112 <= value <= 127:
        return bytes([value & 0xFF])
    length = -112
    if value < 0:
        value ^= -1
        length = -120
    tmp = value
    while tmp:
        tmp >>= 8
        length -= 1
    n = (-(length + 120)) if length < -120 else (-(length + 112))
    return bytes([length & 0xFF]) + value.to_bytes(n, "big")


def _read_vint(f) -> int:
    first = _read(f, 1)[0]
    b = first - 256 if first > 127 else first
    if b >= -112:
        return b
    negative = b < -120
    n = (-119 - b) if negative else (-111 - b)
    value = int.from_bytes(_read(f, n - 1), "big")
    return value ^ -1 if negative else value


def _read(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise TokenFileError("truncated")
    return data


def _read_bytes(f) -> bytes:
    n = _read_vint(f)
    if n < 0 or n > 1 << 20:
        raise TokenFileError(f"bad length {n}")
    return _read(f, n)


def _read_text(f) -> str:
    return _read_bytes(f).decode("utf-8", "replace")


# -- protobuf (the few wire types the credentials messages use) ----------------------------------

def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise TokenFileError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes):
    """(field number, value) of a message's varint and length-delimited fields."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise TokenFileError(f"unsupported protobuf wire type {wire}")
        yield num, value


def _proto_token(alias: str, msg: bytes) -> Token:
    f = dict(_fields(msg))
    return Token(kind=f.get(3, b"").decode(), service=f.get(4, b"").decode(),
                 identifier=f.get(1, b""), password=f.get(2, b""), alias=alias)


# -- the file -------------------------------------------------------------------------------------

def parse(data: bytes) -> list[Token]:
    """The tokens of a credentials file's bytes (either format)."""
    if data[:4] != MAGIC or len(data) < 5:
        raise TokenFileError("not a Hadoop credentials file (no HDTS header)")
    version, body = data[4], data[5:]
    if version == 0:
        f = io.BytesIO(body)
        out = []
        for _ in range(_read_vint(f)):
            alias = _read_text(f)
            ident, password = _read_bytes(f), _read_bytes(f)
            out.append(Token(_read_text(f), _read_text(f), ident, password, alias))
        return out
    if version == 1:
        n, pos = _varint(body, 0)
        out = []
        for num, kv in _fields(body[pos:pos + n]):
            if num != 1:
                continue  # secrets
            f = dict(_fields(kv))
            if 2 in f:
                out.append(_proto_token(f.get(1, b"").decode(), f[2]))
        return out
    raise TokenFileError(f"unknown credentials file version {version}")


def read_file(path: str) -> list[Token]:
    with open(path, "rb") as f:
        return parse(f.read())


def hdfs_tokens(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if t.kind in HDFS_KINDS]


def pick(tokens: list[Token], services: tuple[str, ...] = ()) -> Token | None:
    """The HDFS delegation token for a NameNode: the one whose service is among ``services``
    (``ip:port`` of its RPC address, ``ha-hdfs:<nameservice>``), else the only HDFS token."""
    found = hdfs_tokens(tokens)
    for t in found:
        if t.service in services:
            return t
    return found[0] if len(found) == 1 else None


def container_token(services: tuple[str, ...] = ()) -> Token | None:
    """The HDFS token of this YARN container (None outside a container or without one)."""
    path = os.environ.get(TOKEN_FILE_ENV)
    if not path or not os.path.isfile(path):
        return None
    try:
        return pick(read_file(path), services)
    except (OSError, TokenFileError):
        return None


def describe(token: Token) -> TokenInfo | None:
    """Owner and dates of an HDFS delegation token (None if the identifier is another kind)."""
    f = io.BytesIO(token.identifier)
    try:
        if _read(f, 1)[0] != 0:
            return None
        owner, renewer, real = _read_text(f), _read_text(f), _read_text(f)
        issue, max_date, seq = _read_vint(f), _read_vint(f), _read_vint(f)
    except TokenFileError:
        return None
    return TokenInfo(owner, renewer, real, issue, max_date, seq)


def write_file(path: str, tokens: list[Token]) -> None:
    """A version-0 credentials file (tests and tools; YARN writes the real ones)."""
    out = io.BytesIO()
    out.write(MAGIC + b"\x00" + _vint_bytes(len(tokens)))
    for t in tokens:
        for part in (t.alias.encode(), t.identifier, t.password, t.kind.encode(),
                     t.service.encode()):
            out.write(_vint_bytes(len(part)) + part)
    out.write(_vint_bytes(0))
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(out.getvalue())
    os.replace(tmp, path)


def from_url_string(s: str, alias: str = "") -> Token:
    """The inverse of :meth:`Token.url_string` (a token from WebHDFS GETDELEGATIONTOKEN)."""
    f = io.BytesIO(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
    ident, password = _read_bytes(f), _read_bytes(f)
    return Token(_read_text(f), _read_text(f), ident, password, alias)

"""WebHDFS backend (the ``hdfs`` package): one cached client per endpoint per process."""

import contextlib
import os
import threading
import time
from urllib.parse import urlsplit

import requests
from hdfs.util import HdfsError

from . import hdfs_config
from .errors import FsAuthError, FsError, FsExists, FsNotFound, FsPermission, FsUnreachable
from .uri import split

_lock = threading.Lock()
_clients = {}
_backends = {}
_pid = os.getpid()
_gen = 0  # hdfs_config.generation() the caches were filled under


def clear_cache():
    with _lock:
        _clients.clear()
        _backends.clear()


class _CASession(requests.Session):
    """A session that verifies HTTPS servers with one CA bundle, also where the environment
    names another (requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE win over session.verify)."""

    def __init__(self, ca_bundle):
        super().__init__()
        self.verify = self.ca_bundle = ca_bundle

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        out = super().merge_environment_settings(url, proxies, stream, verify, cert)
        out["verify"] = self.ca_bundle
        return out


def make_client(uri, ep):
    """A new hdfs client for endpoint ``ep`` (raises FsError naming ``uri``)."""
    import hdfs
    if ep.alias:
        from hdfs.config import Config
        try:
            client = Config().get_client(ep.alias)
        except HdfsError as err:
            raise FsError(uri, f"~/.hdfscli.cfg: {err}") from None
        if client._timeout is None:
            client._timeout = ep.timeout
        return client
    session = _CASession(ep.ca_bundle) if ep.ca_bundle else requests.Session()
    if ep.auth == "token":
        return hdfs.TokenClient(ep.url, ep.token, timeout=ep.timeout, session=session)
    if ep.auth == "kerberos":
        from .kerberos import session_auth

        session.auth = session_auth(uri, ep.principal, ep.keytab)
        return hdfs.Client(ep.url, timeout=ep.timeout, session=session)
    return hdfs.InsecureClient(ep.url, user=ep.user, timeout=ep.timeout, session=session)


def backend_for(uri):
    """The backend (and its client, one per endpoint and process) serving ``uri``.

    A forked child (PySpark workers fork from a daemon) gets its own clients: HTTP connections
    must not be shared across processes.
    """
    global _pid, _gen
    ep = hdfs_config.resolve(uri)
    with _lock:
        if _pid != os.getpid() or _gen != hdfs_config.generation():
            _pid, _gen = os.getpid(), hdfs_config.generation()
            _clients.clear()
            _backends.clear()
        b = _backends.get(ep)
        if b is None:
            client = _clients.get(ep)
            if client is None:
                client = _clients[ep] = make_client(uri, ep)
            b = _backends[ep] = WebHdfsFS(client, ep)
        return b


def _cause(err, timeout):
    text = str(err)
    if isinstance(err, requests.ConnectTimeout):
        return f"no connection within {timeout[0]:g} s (connect timeout)"
    if isinstance(err, requests.ReadTimeout):
        return f"no answer within {timeout[1]:g} s (read timeout)"
    low = text.lower()
    if "refused" in low:
        return "connection refused"
    if "name or service not known" in low or "failed to resolve" in low or \
            "nodename nor servname" in low or "temporary failure in name resolution" in low:
        return "host name does not resolve"
    if "timed out" in low:
        return f"no answer within {timeout[1]:g} s (timeout)"
    if isinstance(err, requests.exceptions.SSLError):
        return "TLS/SSL handshake failed"
    return "connection failed (" + text.splitlines()[0][:160] + ")"


def _server_message(err):
    msg = (getattr(err, "message", None) or str(err))
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    first = str(msg).strip().splitlines()[0] if str(msg).strip() else ""
    return " ".join(first.split())[:300]  # the first line: no Java stack trace


class WebHdfsFS:
    """Backend for hdfs://, webhdfs:// and swebhdfs:// URIs of one endpoint."""

    def __init__(self, client, endpoint):
        self.client = client
        self.ep = endpoint

    # -- error handling -------------------------------------------------------------------------

    def _unreachable(self, uri, err, elapsed):
        url = getattr(getattr(err, "request", None), "url", None)
        base = self.ep.url or getattr(self.client, "url", "?")
        nn = [urlsplit(u).netloc for u in base.split(";") if u]
        if url and urlsplit(url).netloc not in nn and nn:
            parts = urlsplit(url)
            who = f"DataNode at {parts.scheme}://{parts.netloc}"
            hint = "check that the DataNode host name resolves and its port is open from here"
        else:
            who = f"NameNode WebHDFS at {base}"
            hint = f"address from {self.ep.source}; check it, or HADOOP_CONF_DIR"
        return FsUnreachable(uri, f"{who} unreachable after {elapsed:.1f} s "
                                  f"({_cause(err, self.ep.timeout)}); {hint}")

    def _auth_error(self, uri, exc, msg):
        """A one-line FsAuthError for a refused credential (None for other errors)."""
        low = msg.lower()
        if exc == "InvalidToken" or "InvalidToken" in msg or (
                "token" in low and ("is expired" in low or "can't be found in cache" in low)):
            what = "has expired" if "expired" in low else \
                "is unknown to the NameNode (cancelled, or from another cluster)"
            src = self.ep.token_source or "the request"
            return FsAuthError(uri, f"the HDFS delegation token ({src}) {what}: a YARN "
                                    "application's tokens live until it ends or for "
                                    "dfs.namenode.delegation.token.max-lifetime (7 days by "
                                    "default); submit again (train --resume continues a run)")
        if self.ep.auth == "simple" and (msg.startswith("Authentication failure")
                                         or "authentication required" in low):
            return FsAuthError(uri, "no Kerberos ticket sent: the cluster is secured (the "
                                    "NameNode answered 'Authentication failure'); set "
                                    "RNN_SPARK_HDFS_AUTH=kerberos or use the cluster's "
                                    "HADOOP_CONF_DIR, then run kinit or pass --principal/--keytab")
        if self.ep.auth == "kerberos" and ("authentication required" in low
                                           or "gss" in low or "kerberos" in low):
            return FsAuthError(uri, f"Kerberos authentication refused ({msg[:200]}): check the "
                                    "ticket (klist) or --principal/--keytab")
        return None

    def translate(self, uri, err, elapsed=0.0, what=None):
        """An FsError for exception ``err`` raised while working on ``uri``."""
        if isinstance(err, FsError):
            return err
        if type(err).__module__.startswith(("requests_gssapi", "gssapi")):
            text = " ".join(str(err).split())[:200]
            return FsAuthError(uri, f"Kerberos (SPNEGO) failed ({text}): check the ticket "
                                    "(klist; run kinit again) or --principal/--keytab")
        if isinstance(err, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(err):
            detail = str(err).split("certificate verify failed:", 1)[-1].split("(_ssl")[0]
            return FsError(uri, f"the server's TLS certificate is not trusted (certificate verify "
                                f"failed: {' '.join(detail.split())[:120].rstrip(' )')}): pass "
                                "--hdfs-ca-bundle PEM (RNN_SPARK_HDFS_CA_BUNDLE) with the CA "
                                "that signed it")
        if isinstance(err, requests.RequestException):
            return self._unreachable(uri, err, elapsed)
        if isinstance(err, HdfsError):
            exc = getattr(err, "exception", None) or ""
            msg = _server_message(err)
            if exc == "FileNotFoundException" or "does not exist" in msg:
                return FsNotFound(uri)
            if exc == "FileAlreadyExistsException":
                return FsExists(uri)
            auth = self._auth_error(uri, exc, msg)
            if auth is not None:
                return auth
            if exc in ("AccessControlException", "SecurityException"):
                detail = msg.split("Permission denied:", 1)[-1].strip()
                return FsPermission(uri, f"permission denied ({detail})")
            if exc == "PathIsNotEmptyDirectoryException" or "is non empty" in msg:
                return FsError(uri, "directory not empty (use recursive=True)")
            if exc == "SafeModeException" or "safe mode" in msg.lower():
                return FsError(uri, "the NameNode is in safe mode (read-only); wait until it "
                                    "leaves it (hdfs dfsadmin -safemode get)")
            if "is not a directory" in msg or exc == "ParentNotDirectoryException":
                return FsError(uri, "not a directory")
            return FsError(uri, f"{what + ': ' if what else ''}{exc + ': ' if exc else ''}{msg}")
        return FsError(uri, f"{type(err).__name__}: {err}")

    def call(self, uri, fn, *args, retry=False, **kwargs):
        """Run ``fn``; map errors; retry transient connection errors if ``retry`` (pure reads)."""
        attempts = 1 + (self.ep.retries if retry else 0)
        t0 = time.monotonic()
        for i in range(attempts):
            try:
                return fn(*args, **kwargs)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as err:
                if isinstance(err, requests.ConnectTimeout) or i == attempts - 1:
                    raise self.translate(uri, err, time.monotonic() - t0) from None
                time.sleep(0.5 * 2 ** i)
            except requests.Timeout as err:
                raise self.translate(uri, err, time.monotonic() - t0) from None
            except (HdfsError, requests.RequestException) as err:
                raise self.translate(uri, err, time.monotonic() - t0) from None

    @contextlib.contextmanager
    def errors(self, uri):
        t0 = time.monotonic()
        try:
            yield
        except (HdfsError, requests.RequestException) as err:
            raise self.translate(uri, err, time.monotonic() - t0) from None

    # -- the backend interface ------------------------------------------------------------------

    def status(self, uri):
        """FileStatus dict, or None if it does not exist (permission errors are raised)."""
        try:
            return self.call(uri, self.client.status, split(uri)[2], retry=True)
        except FsNotFound:
            return None

    def info(self, uri):
        st = self.status(uri)
        if st is None:
            raise FsNotFound(uri)
        kind = "directory" if st["type"] == "DIRECTORY" else "file"
        return {"size": int(st.get("length", 0)) if kind == "file" else 0, "type": kind,
                "mtime": st.get("modificationTime", 0) / 1000.0}

    def exists(self, uri):
        return self.status(uri) is not None

    def isdir(self, uri):
        st = self.status(uri)
        return st is not None and st["type"] == "DIRECTORY"

    def list_entries(self, uri):
        entries = self.call(uri, self.client.list, split(uri)[2], status=True, retry=True)
        return [(name, st["type"] == "DIRECTORY") for name, st in entries]

    def mkdirs(self, uri):
        st = self.status(uri)
        if st is not None:
            if st["type"] != "DIRECTORY":
                raise FsExists(uri, "exists and is a file, not a directory")
            return
        self.call(uri, self.client.makedirs, split(uri)[2])

    def rm(self, uri, recursive=False, missing_ok=False):
        ok = self.call(uri, self.client.delete, split(uri)[2], recursive=recursive)
        if not ok and not missing_ok:
            raise FsNotFound(uri)

    def rename(self, src, dst):
        if self.status(dst) is not None:  # WebHDFS would move src *into* an existing directory
            raise FsExists(dst, "already exists (rename does not replace)")
        self._rename(src, dst)

    def replace(self, src, dst):
        """Atomic rename of file ``src`` onto ``dst`` (HDFS rename with OVERWRITE)."""
        st = self.status(dst)
        if st is not None and st["type"] == "DIRECTORY":
            raise FsError(dst, "is a directory, cannot be replaced by a file")
        self._rename(src, dst, renameoptions="OVERWRITE" if st is not None else None)

    def _rename(self, src, dst, renameoptions=None):
        s, d = split(src)[2], split(dst)[2]
        params = {"destination": d}
        if renameoptions:
            params["renameoptions"] = renameoptions
        res = self.call(src, self.client._rename, s, **params)
        try:
            ok = res.json().get("boolean", True)
        except ValueError:
            ok = True  # rename with options answers with an empty body
        if not ok:
            if self.status(src) is None:
                raise FsNotFound(src)
            if self.status(dst) is not None:
                raise FsExists(dst, "already exists (rename does not replace)")
            raise FsError(dst, f"rename from {src} failed (does the parent directory exist?)")

    def open_read(self, uri):
        from .webhdfs_io import open_reader
        return open_reader(self, uri)

    def open_write(self, uri, overwrite=False):
        from .webhdfs_io import HdfsWriter
        st = self.status(uri)
        if st is not None:
            if st["type"] == "DIRECTORY":
                raise FsError(uri, "is a directory, expected a file")
            if not overwrite:
                raise FsExists(uri)
        return HdfsWriter(self, uri, overwrite=overwrite)

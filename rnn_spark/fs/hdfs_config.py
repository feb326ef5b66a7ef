"""Where an ``hdfs://`` URI's NameNode answers WebHDFS, and with which credentials.

Resolution order for ``hdfs://authority/path`` (``hdfs:///path`` takes the authority of
``fs.defaultFS``):

1. ``configure(webhdfs_url=...)`` or env ``RNN_SPARK_WEBHDFS_URL`` (``http://nn:9870``; several
   ``;``-separated URLs for HA, tried in turn).
2. ``configure(alias=...)`` or env ``RNN_SPARK_HDFS_ALIAS``: a client alias of ``~/.hdfscli.cfg``
   (the ``hdfs`` package's configuration; ``HDFSCLI_CONFIG`` points elsewhere).
3. Hadoop configuration (``configure(hadoop_conf_dir=...)``, env ``HADOOP_CONF_DIR`` or
   ``$HADOOP_HOME/etc/hadoop``): ``core-site.xml`` ``fs.defaultFS`` and ``hdfs-site.xml``
   ``dfs.namenode.http-address`` (``https-address`` under ``dfs.http.policy=HTTPS_ONLY``); HA
   nameservices via ``dfs.nameservices``, ``dfs.ha.namenodes.<ns>`` and
   ``dfs.namenode.http-address.<ns>.<nn>`` (every name node is tried).
4. ``~/.hdfscli.cfg`` alias named like the URI's host, or its ``default.alias`` for ``hdfs:///``.
5. The URI's host on the default WebHDFS port 9870.

``webhdfs://host:port/p`` and ``swebhdfs://host:port/p`` name the HTTP(S) address directly.

Credentials, first that applies:

1. a WebHDFS delegation token from ``configure(token=)`` / ``HADOOP_TOKEN``;
2. the HDFS delegation token in a YARN container's credentials file (``HADOOP_TOKEN_FILE_LOCATION``,
   hadoop_tokens.py): executors and a cluster-mode driver on a Kerberos cluster, no ticket needed;
3. Kerberos (SPNEGO, kerberos.py, the ``rnn-spark[kerberos]`` extra) when ``configure(auth=)`` /
   ``RNN_SPARK_HDFS_AUTH`` says ``kerberos``, or, unset, the Hadoop configuration's
   ``hadoop.security.authentication``: a ``kinit`` ticket, or ``configure(principal=, keytab=)``
   / ``RNN_SPARK_KERBEROS_PRINCIPAL`` + ``RNN_SPARK_KERBEROS_KEYTAB``;
4. simple: the user from ``configure(user=)`` / ``HADOOP_USER_NAME`` / the login name.

HTTPS (``swebhdfs://``, ``dfs.http.policy=HTTPS_ONLY``) verifies the NameNode's certificate with
``configure(ca_bundle=)`` / ``RNN_SPARK_HDFS_CA_BUNDLE`` (a PEM file), else the system's CAs.
:func:`user_name` is who the cluster knows this process as (the default ``/user/NAME`` home).

Timeouts (connect, read) default to 10 s / 60 s (``configure(timeout=)``, env
``RNN_SPARK_HDFS_TIMEOUT="10,60"``). Pure reads (status, list, open) retry transient connection
errors ``retries`` times (default 2, backoff 0.5 s, 1 s); writes, renames and deletes do not.

Executors are other processes: ``configure()`` does not reach them; pass :func:`export_env` as
``spark.executorEnv.*`` (the Spark runner does this, plus :func:`export_local_env` for local
Spark's executors) or set the variables cluster-wide.
"""

import getpass
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .errors import FsError
from .uri import split

DEFAULT_TIMEOUT = (10.0, 60.0)
DEFAULT_WEBHDFS_PORT = 9870
_KEYS = ("webhdfs_url", "user", "timeout", "token", "alias", "auth", "hadoop_conf_dir", "retries",
         "principal", "keytab", "ca_bundle")
_explicit = {}
_generation = 0


def configure(reset=False, **options):
    """Set HDFS options for this process: webhdfs_url, user, timeout (s or (connect, read)), token,
    alias, auth ("simple" | "kerberos"), hadoop_conf_dir, retries, principal + keytab (Kerberos),
    ca_bundle (HTTPS). ``None`` unsets a key;
    ``reset=True`` clears all first. Returns the options now in force."""
    bad = sorted(set(options) - set(_KEYS))
    if bad:
        raise TypeError(f"unknown HDFS option(s) {bad}; known: {list(_KEYS)}")
    if reset:
        _explicit.clear()
    for k, v in options.items():
        if v is None:
            _explicit.pop(k, None)
        else:
            _explicit[k] = v
    global _generation
    _generation += 1  # clients made under the old options are dropped (rnn_spark.fs.webhdfs)
    return dict(_explicit)


def generation() -> int:
    """How many times :func:`configure` ran in this process (a cache key for HDFS clients)."""
    return _generation


def _opt(key, env):
    v = _explicit.get(key)
    return v if v is not None else (os.environ.get(env) or None)


def _timeout_source():
    """Where a timeout came from, in the user's words (the CLI passes its flag to configure())."""
    return "--hdfs-timeout" if "timeout" in _explicit else "RNN_SPARK_HDFS_TIMEOUT"


def parse_timeout(value):
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, (int, float)):
        return (float(value), float(value))
    if isinstance(value, str):
        value = [s for s in value.replace(" ", "").split(",") if s]
    try:
        vals = [float(x) for x in value]
    except (TypeError, ValueError):
        raise FsError(_timeout_source(), f"bad timeout {value!r}; "
                      "write seconds or 'connect,read' (e.g. 10,60)") from None
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2 or min(vals) <= 0:
        raise FsError(_timeout_source(), f"bad timeout {value!r}; "
                      "write seconds or 'connect,read' (e.g. 10,60)")
    return tuple(vals)


@dataclass(frozen=True)
class Endpoint:
    """How to reach one file system: WebHDFS base URLs (HA: several) + credentials."""

    urls: tuple
    source: str               # where the address came from, for error messages
    user: str = None
    token: str = None
    auth: str = "simple"      # "simple" | "kerberos" | "token"
    timeout: tuple = DEFAULT_TIMEOUT
    alias: str = None
    retries: int = 2
    token_source: str = None  # where the token came from, for error messages
    principal: str = None     # Kerberos: log in from this keytab instead of the ticket cache
    keytab: str = None
    ca_bundle: str = None     # HTTPS: verify the server with these CAs

    @property
    def url(self):
        return ";".join(self.urls)


def _conf_dir():
    d = _explicit.get("hadoop_conf_dir") or os.environ.get("HADOOP_CONF_DIR")
    if not d and os.environ.get("HADOOP_HOME"):
        d = os.path.join(os.environ["HADOOP_HOME"], "etc", "hadoop")
    return d if d and os.path.isdir(d) else None


def read_site(path):
    """``{name: value}`` of a Hadoop ``*-site.xml`` ({} if missing)."""
    if not os.path.exists(path):
        return {}
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise FsError(path, f"not valid XML ({err}); fix or unset HADOOP_CONF_DIR") from None
    out = {}
    for prop in root.iter("property"):
        name, value = prop.findtext("name"), prop.findtext("value")
        if name:
            out[name.strip()] = (value or "").strip()
    return out


def hadoop_conf():
    """Merged core-site + hdfs-site of the Hadoop configuration directory ({} if none)."""
    d = _conf_dir()
    if not d:
        return {}
    conf = read_site(os.path.join(d, "core-site.xml"))
    conf.update(read_site(os.path.join(d, "hdfs-site.xml")))
    conf["__dir__"] = d
    return conf


def _host(authority):
    return authority.rsplit(":", 1)[0] if ":" in authority else authority


def _http_urls(conf, authority):
    """WebHDFS URLs for ``authority`` according to the Hadoop config, or None."""
    https = conf.get("dfs.http.policy", "HTTP_ONLY").upper() == "HTTPS_ONLY"
    key, proto = ("dfs.namenode.https-address", "https") if https else \
                 ("dfs.namenode.http-address", "http")
    host = _host(authority)
    nameservices = [s.strip() for s in conf.get("dfs.nameservices", "").split(",") if s.strip()]
    if host in nameservices or f"dfs.ha.namenodes.{host}" in conf:
        nns = [n.strip() for n in conf.get(f"dfs.ha.namenodes.{host}", "").split(",") if n.strip()]
        addrs = [conf.get(f"{key}.{host}.{nn}") for nn in nns]
        addrs = [a for a in addrs if a] or [conf.get(f"{key}.{host}")]
        addrs = [a for a in addrs if a]
        if not addrs:
            raise FsError(f"hdfs://{authority}/", f"nameservice {host!r} has no {key}.{host}.<nn> "
                          f"in {conf['__dir__']}/hdfs-site.xml; add it or set RNN_SPARK_WEBHDFS_URL")
        return [f"{proto}://{a}" for a in addrs]
    default_auth = split(conf["fs.defaultFS"])[1].partition("://")[2] \
        if conf.get("fs.defaultFS", "").startswith("hdfs://") else None
    rpc = conf.get("dfs.namenode.rpc-address")
    if authority in (default_auth, rpc) or _host(authority) in (_host(default_auth or ""),):
        addr = conf.get(key)
        if addr:
            h, _, port = addr.rpartition(":")
            if h in ("0.0.0.0", "", "::"):
                h = host
            return [f"{proto}://{h}:{port}"]
    return None


def _hdfscli_alias(name):
    """An alias section of ~/.hdfscli.cfg named ``name`` (or the default alias for name=None)."""
    from hdfs.config import Config
    try:
        cfg = Config()
    except Exception:
        return None
    if name is None:
        if cfg.has_section(cfg.global_section) and cfg.has_option(cfg.global_section,
                                                                  "default.alias"):
            return cfg.get(cfg.global_section, "default.alias")
        return None
    for suffix in (".alias", "_alias"):
        if cfg.has_section(name + suffix):
            return name
    return None


def _credentials(uri, authority):
    """auth, token, token_source, principal, keytab (see the module's Credentials)."""
    token = _opt("token", "HADOOP_TOKEN")
    if token:
        return dict(auth="token", token=token, token_source="HADOOP_TOKEN")
    found = _container_token(authority)
    if found is not None:
        return dict(auth="token", token=found[0], token_source=found[1])
    try:
        conf_auth = hadoop_conf().get("hadoop.security.authentication")
    except FsError:  # a broken site file is reported where the address is read from it
        conf_auth = None
    auth = (_opt("auth", "RNN_SPARK_HDFS_AUTH") or conf_auth or "simple").lower()
    if auth not in ("simple", "kerberos"):
        src = "RNN_SPARK_HDFS_AUTH" if _opt("auth", "RNN_SPARK_HDFS_AUTH") else \
            "hadoop.security.authentication in HADOOP_CONF_DIR"
        raise FsError(uri, f"unknown HDFS auth {auth!r} ({src}); use 'simple' or 'kerberos'")
    out = dict(auth=auth)
    if auth == "kerberos":
        out.update(principal=_opt("principal", "RNN_SPARK_KERBEROS_PRINCIPAL"),
                   keytab=_opt("keytab", "RNN_SPARK_KERBEROS_KEYTAB"))
    return out


_token_cache = {}


def _container_token(authority):
    """(url string, description) of this YARN container's HDFS token for ``authority``."""
    from . import hadoop_tokens

    path = os.environ.get(hadoop_tokens.TOKEN_FILE_ENV)
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (path, st.st_mtime_ns, st.st_size, authority)
    if key not in _token_cache:
        services = _token_services(authority)
        tok = hadoop_tokens.container_token(services)
        _token_cache.clear()
        _token_cache[key] = None if tok is None else (
            tok.url_string(), f"{tok.kind} token for {tok.service} from the YARN container's "
                              f"{hadoop_tokens.TOKEN_FILE_ENV}")
    return _token_cache[key]


def _token_services(authority):
    """The token services a NameNode's HDFS token may carry: host:port, ip:port, ha-hdfs:NS."""
    import socket

    try:
        conf = hadoop_conf()
    except FsError:
        conf = {}
    if not authority and conf.get("fs.defaultFS", "").startswith("hdfs://"):
        authority = split(conf["fs.defaultFS"])[1].partition("://")[2]
    out = [authority, f"ha-hdfs:{_host(authority)}"]
    host, _, port = authority.rpartition(":")
    if host and port:
        try:
            out.append(f"{socket.gethostbyname(host)}:{port}")
        except OSError:
            pass
    return tuple(out)


def user_name(uri="hdfs:///"):
    """The user the cluster knows this process as: a delegation token's owner, the short name
    of the Kerberos principal (``alice@REALM`` -> ``alice``), else the simple-auth user."""
    from . import hadoop_tokens

    cred = _credentials(uri, split(uri)[1].partition("://")[2])
    if cred["auth"] == "token":
        try:
            info = hadoop_tokens.describe(hadoop_tokens.from_url_string(cred["token"]))
        except (ValueError, hadoop_tokens.TokenFileError):
            info = None
        if info is not None:
            return info.user
    if cred["auth"] == "kerberos":
        from . import kerberos

        return hadoop_tokens.short_name(
            kerberos.principal_name(uri, cred["principal"], cred["keytab"]))
    return _opt("user", "HADOOP_USER_NAME") or getpass.getuser()


def resolve(uri):
    """The :class:`Endpoint` serving ``uri`` (a remote URI)."""
    sch, prefix, _ = split(uri)
    authority = prefix.partition("://")[2]
    ca = _opt("ca_bundle", "RNN_SPARK_HDFS_CA_BUNDLE")
    if ca and not os.path.isfile(ca):
        raise FsError(uri, f"CA bundle {ca} not found (RNN_SPARK_HDFS_CA_BUNDLE); give a PEM "
                           "file of the CA that signed the NameNode's certificate")
    common = dict(
        user=_opt("user", "HADOOP_USER_NAME") or getpass.getuser(),
        timeout=parse_timeout(_opt("timeout", "RNN_SPARK_HDFS_TIMEOUT")),
        retries=int(_opt("retries", "RNN_SPARK_HDFS_RETRIES") or 2),
        ca_bundle=ca, **_credentials(uri, authority),
    )
    if sch in ("webhdfs", "swebhdfs"):
        proto = "http" if sch == "webhdfs" else "https"
        return Endpoint((f"{proto}://{authority}",), f"the {sch}:// URI", **common)
    url = _opt("webhdfs_url", "RNN_SPARK_WEBHDFS_URL")
    if url:
        src = ("--webhdfs-url (or RNN_SPARK_WEBHDFS_URL)" if "webhdfs_url" in _explicit
               else "RNN_SPARK_WEBHDFS_URL")
        return Endpoint(tuple(u.strip().rstrip("/") for u in url.split(";") if u.strip()),
                        src, **common)
    alias = _opt("alias", "RNN_SPARK_HDFS_ALIAS")
    if alias:
        return Endpoint((), f"~/.hdfscli.cfg alias {alias!r}", alias=alias, **common)
    conf = hadoop_conf()
    if not authority:
        default = conf.get("fs.defaultFS", "")
        if default.startswith("hdfs://"):
            authority = split(default)[1].partition("://")[2]
        else:
            alias = _hdfscli_alias(None)
            if alias:
                return Endpoint((), f"~/.hdfscli.cfg default alias {alias!r}", alias=alias,
                                **common)
            raise FsError(uri, "no name node to use: set HADOOP_CONF_DIR (with fs.defaultFS), "
                               "RNN_SPARK_WEBHDFS_URL, or write hdfs://namenode:port/path")
    if conf:
        urls = _http_urls(conf, authority)
        if urls:
            return Endpoint(tuple(urls), f"HADOOP_CONF_DIR={conf['__dir__']}", **common)
    alias = _hdfscli_alias(_host(authority))
    if alias:
        return Endpoint((), f"~/.hdfscli.cfg alias {alias!r}", alias=alias, **common)
    return Endpoint((f"http://{_host(authority)}:{DEFAULT_WEBHDFS_PORT}",),
                    "the URI host and the default WebHDFS port", **common)


def export_env():
    """Environment variables that make another process (a Spark executor) resolve HDFS URIs the
    same way as this one (only those set explicitly or in this process's environment)."""
    env = {}
    pairs = [("webhdfs_url", "RNN_SPARK_WEBHDFS_URL"), ("user", "HADOOP_USER_NAME"),
             ("token", "HADOOP_TOKEN"), ("alias", "RNN_SPARK_HDFS_ALIAS"),
             ("auth", "RNN_SPARK_HDFS_AUTH"), ("retries", "RNN_SPARK_HDFS_RETRIES"),
             ("timeout", "RNN_SPARK_HDFS_TIMEOUT"), ("hadoop_conf_dir", "HADOOP_CONF_DIR"),
             ("ca_bundle", "RNN_SPARK_HDFS_CA_BUNDLE")]
    # not the Kerberos principal/keytab: a keytab path is this machine's, and containers use
    # their delegation tokens
    for key, var in pairs:
        v = _opt(key, var)
        if v is None:
            continue
        if key == "timeout":
            v = ",".join(str(x) for x in parse_timeout(v))
        env[var] = str(v)
    return env


def export_local_env():
    """What a process on THIS machine (local Spark's executors: ``local[N]``) needs on top of
    :func:`export_env` to log in as this one does: the Kerberos principal and the keytab's absolute
    path, when the keytab was given (``--principal/--keytab``). Such a login lives in this process
    only (no ticket cache is written), so without them its Python workers had no ticket. Never for
    a cluster's executors: the path is this machine's, and containers use delegation tokens."""
    principal = _opt("principal", "RNN_SPARK_KERBEROS_PRINCIPAL")
    keytab = _opt("keytab", "RNN_SPARK_KERBEROS_KEYTAB")
    if not (principal and keytab):
        return {}
    return {"RNN_SPARK_KERBEROS_PRINCIPAL": principal,
            "RNN_SPARK_KERBEROS_KEYTAB": os.path.abspath(keytab)}

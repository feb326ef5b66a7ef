"""Kerberos (SPNEGO) for WebHDFS where a person works: a ticket from ``kinit``, or a keytab.

Needs the optional extra ``rnn-spark[kerberos]`` (requests-gssapi, whose gssapi binds the
system's Kerberos library: libkrb5 / libgssapi-krb5). YARN containers never come here: they use
the delegation token in their credentials file (hadoop_tokens.py), so a packed environment
works without these libraries.

Credentials: the default ticket cache (``kinit``; ``KRB5CCNAME`` names another), or
``principal`` + ``keytab`` (``--principal/--keytab``, ``RNN_SPARK_KERBEROS_PRINCIPAL`` /
``RNN_SPARK_KERBEROS_KEYTAB``): a ticket is obtained from the keytab into this process's
memory, no ticket cache is written.
"""

from __future__ import annotations

import os
import threading

from .errors import FsAuthError

EXTRA = "pip install 'rnn-spark[kerberos]' (requests-gssapi; building gssapi needs libkrb5-dev and gcc)"
NO_TICKET = "no Kerberos ticket: run kinit or pass --principal/--keytab"

_lock = threading.Lock()
_creds: dict = {}


def _modules(where):
    try:
        import gssapi
        import requests_gssapi
    except ImportError as exc:
        raise FsAuthError(where, f"Kerberos authentication needs requests-gssapi, which cannot be "
                                 f"imported ({exc}): {EXTRA}") from None
    return gssapi, requests_gssapi


def credentials(where, principal: str | None = None, keytab: str | None = None):
    """Initiator credentials, checked now (a missing or expired ticket is one line)."""
    gssapi, _ = _modules(where)
    if keytab and not os.path.isfile(keytab):
        raise FsAuthError(where, f"keytab {keytab} not found (--keytab or "
                                 "RNN_SPARK_KERBEROS_KEYTAB)")
    if bool(principal) != bool(keytab):
        raise FsAuthError(where, "--principal and --keytab go together (or "
                                 "RNN_SPARK_KERBEROS_PRINCIPAL with RNN_SPARK_KERBEROS_KEYTAB)")
    key = (os.getpid(), principal, keytab, os.environ.get("KRB5CCNAME"))
    with _lock:
        creds = _creds.get(key)
        try:
            if creds is None or creds.lifetime < 60:
                creds = _acquire(gssapi, principal, keytab)
            lifetime = creds.lifetime  # raises for an expired ticket
        except gssapi.exceptions.ExpiredCredentialsError:
            raise FsAuthError(where, "the Kerberos ticket has expired: run kinit again or "
                                     "pass --principal/--keytab") from None
        except gssapi.exceptions.GSSError as exc:
            if keytab:
                raise FsAuthError(where, f"cannot log in as {principal} with keytab {keytab} "
                                         f"({_gss_text(exc)})") from None
            raise FsAuthError(where, NO_TICKET) from None
        if lifetime <= 0:
            raise FsAuthError(where, "the Kerberos ticket has expired: run kinit again or "
                                     "pass --principal/--keytab")
        _creds[key] = creds
        return creds


def _acquire(gssapi, principal, keytab):
    if not keytab:
        return gssapi.Credentials(usage="initiate")
    name = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
    return gssapi.Credentials(name=name, usage="initiate", store={
        "client_keytab": keytab, "ccache": f"MEMORY:rnn-spark-{os.getpid()}"})


def _gss_text(exc) -> str:
    text = " ".join(str(exc).split())
    return text[:200]


def principal_name(where, principal: str | None = None, keytab: str | None = None) -> str:
    """The authenticated principal (``alice@REALM``)."""
    return str(credentials(where, principal, keytab).name)


def session_auth(where, principal: str | None = None, keytab: str | None = None):
    """A requests auth object doing SPNEGO with those credentials."""
    _, requests_gssapi = _modules(where)
    creds = credentials(where, principal, keytab)
    return requests_gssapi.HTTPSPNEGOAuth(creds=creds,
                                          mutual_authentication=requests_gssapi.OPTIONAL)

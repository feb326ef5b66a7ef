"""Reads that survive a dead DataNode: WebHDFS OPEN with failover to another replica.

OPEN goes to the NameNode, which redirects to a DataNode holding the block. The NameNode learns of
a DataNode's death only after minutes (heartbeat expiry), and until then keeps redirecting reads
there. So when the DataNode cannot be reached, the reader looks the DataNode's transfer address up
in the block's locations (GET_BLOCK_LOCATIONS maps its HTTP port, which the redirect names, to the
address the NameNode knows it by) and asks the NameNode again with ``excludedatanodes=``: it then
redirects to another replica. Reads are idempotent, so this is always safe; attempts are bounded
(``retries`` of the endpoint, backoff 0.5 s, 1 s, 2 s ...) and the excluded DataNodes are remembered
by the caller (one reader), so a dead DataNode costs one refused connection per file.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

import requests
from hdfs.client import _Request
from hdfs.util import HdfsError

from .uri import split

log = logging.getLogger("rnn_spark.fs")

_get_block_locations = _Request("GET").to_method("GET_BLOCK_LOCATIONS")


def _namenodes(backend) -> set[str]:
    base = backend.ep.url or getattr(backend.client, "url", "") or ""
    return {urlsplit(u).netloc for u in base.split(";") if u}


def datanode_of(backend, url: str | None) -> str | None:
    """host:port of the DataNode `url` points at (None if it is a NameNode's or unknown)."""
    if not url:
        return None
    netloc = urlsplit(url).netloc
    return netloc if netloc and netloc not in _namenodes(backend) else None


def xfer_address(backend, path: str, offset: int, http_netloc: str) -> str | None:
    """The "ip:xferPort" the NameNode knows the DataNode serving HTTP at `http_netloc` by."""
    host, _, port = http_netloc.rpartition(":")
    try:
        res = _get_block_locations(backend.client, path, offset=offset, length=1)
        blocks = res.json()["LocatedBlocks"]["locatedBlocks"]
    except (HdfsError, requests.RequestException, ValueError, KeyError, TypeError):
        return None
    for block in blocks:
        for dn in block.get("locations", []):
            if host in (dn.get("ipAddr"), dn.get("hostName")) and \
                    port in (str(dn.get("infoPort")), str(dn.get("infoSecurePort"))):
                return f"{dn['ipAddr']}:{dn['xferPort']}"
    return None


def avoid_datanode(backend, uri: str, offset: int, url: str | None, avoid: set[str]) -> bool:
    """Add the DataNode behind `url` to `avoid`; False if `url` is not a DataNode's."""
    dn = datanode_of(backend, url)
    if dn is None:
        return False
    addr = xfer_address(backend, split(uri)[2], offset, dn)
    if addr:
        avoid.add(addr)
    log.warning("%s: DataNode %s unreachable at byte %d; reading another replica", uri, dn, offset)
    return True


def open_range(backend, uri: str, offset: int, length: int, avoid: set[str]):
    """A streaming ``requests.Response`` for bytes [offset, offset+length) of `uri`."""
    path = split(uri)[2]
    attempts = 1 + backend.ep.retries
    t0 = time.monotonic()
    for i in range(attempts):
        params = {"offset": offset, "length": length}
        if avoid:
            params["excludedatanodes"] = ",".join(sorted(avoid))
        try:
            return backend.client._open(path, **params)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as err:
            url = getattr(getattr(err, "request", None), "url", None)
            on_datanode = avoid_datanode(backend, uri, offset, url, avoid)
            if i == attempts - 1 or (isinstance(err, requests.ConnectTimeout) and not on_datanode):
                raise backend.translate(uri, err, time.monotonic() - t0) from None
        except HdfsError as err:
            if not avoid or i == attempts - 1:  # excluded every replica? try them all again
                raise backend.translate(uri, err, time.monotonic() - t0) from None
            avoid.clear()
        except requests.RequestException as err:
            raise backend.translate(uri, err, time.monotonic() - t0) from None
        time.sleep(0.5 * 2 ** i)
    raise AssertionError("unreachable")  # the loop returns or raises

"""The secured cluster's settings (``scripts/hadoop-cluster start --secure``).

A KDC (MiniKdc, realm EXAMPLE.COM, a port the OS picks) and a Kerberos-secured HDFS + YARN run
in one JVM (SecureCluster.java beside this file, a single-file Java program). Principals:
``hdfs/localhost`` for every daemon (NameNode, DataNode, ResourceManager, NodeManager: one login
user in one JVM), ``HTTP/localhost`` and ``HTTP/127.0.0.1`` for SPNEGO, and the test users
``alice`` and ``bob``, each with a keytab in ``keytabs/``. The local login (root) has no
principal: as on an edge node, who you are on the cluster is your Kerberos ticket.

Written into the cluster directory: ``krb5.conf`` (``KRB5_CONFIG`` for kinit and Python,
``-Djava.security.krb5.conf`` for JVMs), ``keytabs/``, ``conf/`` (the clients' HADOOP_CONF_DIR,
with the security keys and no keytab), ``server-conf/`` (the daemons' site files, first on the
JVM's classpath so the NodeManager's localizer JVMs read them too), ``tls/`` (WebHDFS also
answers HTTPS: ``swebhdfs://127.0.0.1:<https port>``, CA in ``tls/ca.pem``).

Containers get ``KRB5_CONFIG`` and ``JDK_JAVA_OPTIONS`` for this realm (a real node has
/etc/krb5.conf) and a ``KRB5CCNAME`` that never exists: a container has no ticket, only the
delegation tokens YARN puts in its ``HADOOP_TOKEN_FILE_LOCATION``.
"""
from __future__ import annotations

from pathlib import Path

from .layout import HOST, Layout

REALM = "EXAMPLE.COM"
SERVICE = f"hdfs/localhost@{REALM}"
USERS = ("alice", "bob")
JAVA_SOURCE = Path(__file__).resolve().parent / "SecureCluster.java"


def krb5_conf(layout: Layout) -> Path:
    return layout.root / "krb5.conf"


def keytab(layout: Layout, name: str = "service") -> Path:
    return layout.root / "keytabs" / f"{name}.keytab"


def ready_file(layout: Layout) -> Path:
    return layout.work / "secure.json"


def no_ccache(layout: Layout) -> Path:
    """The containers' KRB5CCNAME: a file nobody writes (a container has no ticket)."""
    return layout.root / "no-ticket-in-containers"


def tls_dir(layout: Layout) -> Path:
    """HTTPS for WebHDFS (swebhdfs://): server.jks, a self-signed certificate for localhost and
    127.0.0.1, and ca.pem, that certificate for clients (RNN_SPARK_HDFS_CA_BUNDLE)."""
    return layout.root / "tls"


TLS_PASSWORD = "rnn-spark-test"  # a throwaway keystore of a loopback test cluster


def make_tls(layout: Layout, java_home: Path) -> None:
    """A fresh keystore and its certificate as PEM (keytool, part of every JDK)."""
    import subprocess

    from . import ClusterError

    d = tls_dir(layout)
    d.mkdir(parents=True, exist_ok=True)
    for f in ("server.jks", "ca.pem"):
        (d / f).unlink(missing_ok=True)
    keytool = str(java_home / "bin" / "keytool")
    common = ["-keystore", str(d / "server.jks"), "-storepass", TLS_PASSWORD]
    for args in (["-genkeypair", "-alias", "webhdfs", "-keyalg", "RSA", "-keysize", "2048",
                  "-validity", "30", "-dname", "CN=localhost", "-keypass", TLS_PASSWORD,
                  "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-storetype", "JKS", *common],
                 ["-exportcert", "-rfc", "-alias", "webhdfs", "-file", str(d / "ca.pem"),
                  *common]):
        r = subprocess.run([keytool, *args], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise ClusterError(f"keytool could not make the test certificate: "
                               f"{(r.stderr or r.stdout).strip()[-300:]}")


def ssl_server(layout: Layout) -> dict[str, str]:
    """server-conf/ssl-server.xml (Hadoop's HTTPS server reads it from the classpath)."""
    jks = str(tls_dir(layout) / "server.jks")
    return {"ssl.server.keystore.location": jks, "ssl.server.keystore.type": "jks",
            "ssl.server.keystore.password": TLS_PASSWORD,
            "ssl.server.keystore.keypassword": TLS_PASSWORD,
            "ssl.server.truststore.location": jks, "ssl.server.truststore.type": "jks",
            "ssl.server.truststore.password": TLS_PASSWORD}


def java_krb5_opt(layout: Layout) -> str:
    return f"-Djava.security.krb5.conf={krb5_conf(layout)}"


def client_settings() -> dict[str, dict[str, str]]:
    """Security keys every client needs (merged into the client site files)."""
    return {
        "core-site.xml": {
            "hadoop.security.authentication": "kerberos",
            "hadoop.security.authorization": "true",
            "hadoop.rpc.protection": "authentication",
        },
        "hdfs-site.xml": {
            "dfs.namenode.kerberos.principal": SERVICE,
            "dfs.datanode.kerberos.principal": SERVICE,
            "dfs.block.access.token.enable": "true",
            "dfs.data.transfer.protection": "authentication",
            "dfs.http.policy": "HTTP_ONLY",
            "dfs.web.authentication.kerberos.principal": f"HTTP/localhost@{REALM}",
        },
        "yarn-site.xml": {
            "yarn.resourcemanager.principal": SERVICE,
            "yarn.nodemanager.principal": SERVICE,
        },
    }


def server_settings(layout: Layout) -> dict[str, dict[str, str]]:
    """The daemons' own keys on top of the clients' (keytabs, SPNEGO, ports that must not
    default to fixed numbers another cluster holds)."""
    kt = str(keytab(layout))
    krb = java_krb5_opt(layout)
    out = {name: dict(props) for name, props in client_settings().items()}
    out["core-site.xml"].update({
        "hadoop.http.authentication.type": "kerberos",
        "hadoop.http.authentication.simple.anonymous.allowed": "false",
        "hadoop.http.authentication.kerberos.principal": "*",
        "hadoop.http.authentication.kerberos.keytab": kt,
    })
    out["hdfs-site.xml"].update({
        "dfs.namenode.keytab.file": kt,
        "dfs.datanode.keytab.file": kt,
        "dfs.web.authentication.kerberos.principal": "*",
        "dfs.web.authentication.kerberos.keytab": kt,
        "ignore.secure.ports.for.testing": "true",  # SASL data transfer on unprivileged ports
        # WebHDFS over HTTPS too (swebhdfs://, ports in secure.json); clients keep HTTP_ONLY
        "dfs.http.policy": "HTTP_AND_HTTPS",
        "dfs.namenode.https-address": f"{HOST}:0",
        "dfs.datanode.https.address": f"{HOST}:0",
    })
    out["yarn-site.xml"].update({
        "yarn.resourcemanager.keytab": kt,
        "yarn.nodemanager.keytab": kt,
        "yarn.minicluster.fixed.ports": "true",
        "yarn.nodemanager.address": f"{HOST}:0",
        "yarn.nodemanager.localizer.address": f"{HOST}:0",
        "yarn.nodemanager.webapp.address": f"{HOST}:0",
        "yarn.nodemanager.collector-service.address": f"{HOST}:0",
        "yarn.nodemanager.amrmproxy.address": f"{HOST}:0",
        "yarn.timeline-service.enabled": "false",
        "yarn.nodemanager.container-localizer.java.opts": f"-Xmx256m {krb}",
    })
    return out


def container_env(layout: Layout) -> str:
    """yarn.nodemanager.admin-env additions: the realm's krb5.conf for Python and Java, and no
    ticket cache (containers authenticate with their delegation tokens)."""
    return (f"KRB5_CONFIG={krb5_conf(layout)},KRB5CCNAME=FILE:{no_ccache(layout)},"
            f"JDK_JAVA_OPTIONS={java_krb5_opt(layout)}")

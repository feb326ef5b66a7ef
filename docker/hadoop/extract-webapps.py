"""Image build step: take the NameNode/DataNode web UI files out of hadoop-hdfs's tests jar.

The daemons look up webapps/<name> on the classpath, and only the tests jar carries them. The
directories land in /opt/hadoop/hdfs-web (docker/bin/hadoop-java --hdfs-web adds it to the
classpath) and the jar itself is deleted, so no test class reaches a classpath.
"""
import glob
import os
import zipfile

(jar,) = glob.glob("/opt/hadoop/jars/hadoop-hdfs-*-tests.jar")
wanted = tuple(f"webapps/{d}/" for d in ("hdfs", "datanode", "secondary", "static"))
with zipfile.ZipFile(jar) as z:
    z.extractall("/opt/hadoop/hdfs-web", [n for n in z.namelist() if n.startswith(wanted)])
os.remove(jar)

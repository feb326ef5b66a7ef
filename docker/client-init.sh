#!/usr/bin/env bash
# Client service start-up for the docker-compose cluster: wait for HDFS and YARN, create the
# HDFS directories Spark needs, stage pyspark's jars once as spark.yarn.archive (so a submit does
# not upload ~400 MB), then idle so `docker compose exec client ...` can submit jobs.
set -euo pipefail
echo "client: waiting for HDFS (namenode:8020) to leave safe mode"
until hdfs dfsadmin -safemode wait >/dev/null 2>&1; do sleep 2; done
hdfs dfs -mkdir -p /spark-logs /spark /user/root /tmp /data
hdfs dfs -chmod 1777 /tmp /spark-logs
archive=/spark/spark-jars.zip
if ! hdfs dfs -test -e "$archive"; then
    tmp="$(mktemp -d)"
    python3 - "$tmp/spark-jars.zip" <<'PY'
import os, sys, zipfile, pyspark
jars = os.path.join(os.path.dirname(pyspark.__file__), "jars")
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:  # jars at the zip's root
    for name in sorted(os.listdir(jars)):
        z.write(os.path.join(jars, name), name)
PY
    hdfs dfs -put -f "$tmp/spark-jars.zip" "$archive.tmp" && hdfs dfs -mv "$archive.tmp" "$archive"
    hdfs dfs -chmod 644 "$archive"
    rm -rf "$tmp"
fi
echo "client: waiting for YARN (resourcemanager:8088)"
until curl -fsS http://resourcemanager:8088/ws/v1/cluster/info >/dev/null 2>&1; do sleep 2; done
touch /tmp/client-ready
echo "client: ready - submit with: docker compose exec client rnn-spark train ..."
exec sleep infinity

#!/usr/bin/env bash
# Run a command against a freshly started Hadoop test cluster, and always stop it.
#
# As a command:   scripts/ci-cluster.sh python3 -m pytest tests/e2e -q
# As a library:   source scripts/ci-cluster.sh
#                 ci_cluster_start            # starts, exports HADOOP_CONF_DIR, YARN_CONF_DIR,
#                                             #   RNN_SPARK_E2E=1, installs an EXIT trap that stops it
#                 ...commands...
#                 ci_cluster_stop             # idempotent; also run by the trap
#   or            ci_cluster_run CMD ARGS...  # start, run, stop; returns CMD's exit code
#   The secured cluster (KDC + Kerberos HDFS/YARN, tests/secure): ci_cluster_start --secure or
#   ci_cluster_run --secure CMD ...; its state is $RNN_SPARK_SECURE_CLUSTER_DIR (default
#   .cluster-secure, exported for the tests) and it also exports KRB5_CONFIG.
#
# Exit codes: the command's own; 2 if the cluster could not start (one-line reason on stderr,
# last lines of the cluster log after it). Cluster state: $RNN_SPARK_CLUSTER_DIR (default .cluster).
# Env passed through: RNN_SPARK_CLUSTER_START_TIMEOUT (s, default 240), and the variables of
# scripts/hadoop-cluster (RNN_SPARK_CLUSTER_PORT_OFFSET, RNN_SPARK_MAVEN_TIMEOUT, ...).

_CI_CLUSTER_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
_CI_CLUSTER_STARTED=0
_CI_CLUSTER_DIR=""

ci_cluster_stop() {
    if [ "$_CI_CLUSTER_STARTED" = 1 ]; then
        "$_CI_CLUSTER_SCRIPTS/hadoop-cluster" --dir "$_CI_CLUSTER_DIR" stop \
            || echo "ci-cluster: stop failed" >&2
        _CI_CLUSTER_STARTED=0
    fi
}

ci_cluster_start() {
    local out rc dir stamp secure=()
    _CI_CLUSTER_STARTED=1
    dir="${RNN_SPARK_CLUSTER_DIR:-$_CI_CLUSTER_SCRIPTS/../.cluster}"
    if [ "${1:-}" = "--secure" ]; then
        secure=(--secure)
        dir="${RNN_SPARK_SECURE_CLUSTER_DIR:-$_CI_CLUSTER_SCRIPTS/../.cluster-secure}"
        export RNN_SPARK_SECURE_CLUSTER_DIR="$dir"
    fi
    _CI_CLUSTER_DIR="$dir"
    mkdir -p "$dir" && stamp="$dir/.ci-start-stamp" && : > "$stamp"
    trap 'ci_cluster_stop' EXIT
    trap 'ci_cluster_stop; exit 130' INT
    trap 'ci_cluster_stop; exit 143' TERM
    out="$("$_CI_CLUSTER_SCRIPTS/hadoop-cluster" --dir "$dir" start "${secure[@]}" \
           --timeout "${RNN_SPARK_CLUSTER_START_TIMEOUT:-240}")"
    rc=$?
    if [ $rc -ne 0 ]; then
        if [ "$dir/logs/cluster.log" -nt "$stamp" ]; then
            echo "ci-cluster: last lines of $dir/logs/cluster.log:" >&2
            tail -n 15 "$dir/logs/cluster.log" >&2
        fi
        ci_cluster_stop
        return 2
    fi
    eval "$out"
    export YARN_CONF_DIR="$HADOOP_CONF_DIR" RNN_SPARK_E2E=1
    "$_CI_CLUSTER_SCRIPTS/hadoop-cluster" --dir "$dir" status >&2 || true
    return 0
}

ci_cluster_run() {
    local rc secure=()
    if [ "${1:-}" = "--secure" ]; then secure=(--secure); shift; fi
    ci_cluster_start "${secure[@]}" || return 2
    "$@"
    rc=$?
    ci_cluster_stop
    return $rc
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    if [ $# -eq 0 ]; then
        echo "usage: scripts/ci-cluster.sh COMMAND [ARGS...]" >&2
        exit 2
    fi
    ci_cluster_run "$@"
    exit $?
fi

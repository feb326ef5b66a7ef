#!/usr/bin/env bash
# CI stage: the docker-compose cluster end to end (issue 12). Called by .ci/run after the main
# suite:   bash scripts/ci-compose.sh
# and, before the main suite, in the background: bash scripts/ci-compose.sh --prepare
# (steps 1-2 and the image build of step 3 only, overlapped with the tests: they are mostly
# downloads; the dockerd it starts keeps running, and the later full stage stops it).
#
#  1. installs Docker from Debian's packages if absent (docker.io docker-compose), starts dockerd
#     in the background if no engine answers (PID 1 is not systemd), and waits for `docker info`
#  2. the base image: $RNN_SPARK_COMPOSE_BASE_IMAGE, default rnn-spark/debian-base:bookworm,
#     made when missing from a Debian rootfs (mmdebstrap --variant=minbase bookworm | docker
#     import): no image registry is needed
#  3. scripts/compose-cluster test: builds the node image if its inputs changed (kept between
#     runs while the machine keeps /var/lib/docker), starts the cluster, runs tests/compose/;
#     the host's local CA certificates (/usr/local/share/ca-certificates) go into the image
#  4. ALWAYS tears the cluster down (containers, network, volumes) and stops a dockerd it
#     started; prints how long the stage took.
# Host ports default to 2xxxx (20000 + the usual port) so they do not collide with the test
# cluster; override with RNN_SPARK_COMPOSE_*_PORT. Exit code: the test's, 2 if set-up failed.
set -uo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
say() { echo "ci-compose: $*" >&2; }
since() { echo "$(( $(date +%s) - $1 ))s"; }

export RNN_SPARK_COMPOSE_PROJECT="${RNN_SPARK_COMPOSE_PROJECT:-rnn-spark-ci}"
export RNN_SPARK_COMPOSE_NN_PORT="${RNN_SPARK_COMPOSE_NN_PORT:-29870}"
export RNN_SPARK_COMPOSE_RM_PORT="${RNN_SPARK_COMPOSE_RM_PORT:-28088}"
export RNN_SPARK_COMPOSE_HISTORY_PORT="${RNN_SPARK_COMPOSE_HISTORY_PORT:-38080}"
export RNN_SPARK_COMPOSE_DN1_PORT="${RNN_SPARK_COMPOSE_DN1_PORT:-29864}"
export RNN_SPARK_COMPOSE_DN2_PORT="${RNN_SPARK_COMPOSE_DN2_PORT:-29865}"
export RNN_SPARK_COMPOSE_SPARK_UI_PORT="${RNN_SPARK_COMPOSE_SPARK_UI_PORT:-24040}"
BASE="${RNN_SPARK_COMPOSE_BASE_IMAGE:-rnn-spark/debian-base:bookworm}"
DOCKERD_PID=""
STARTED_CLUSTER=0
PREPARE=0
case "${1:-}" in
    --prepare) PREPARE=1 ;;
    "") ;;
    *) echo "ci-compose: error: unknown argument '$1'; usage: bash scripts/ci-compose.sh [--prepare]" >&2; exit 2 ;;
esac
# the dockerd a --prepare run started and left running for the full stage to use and stop
PIDFILE="${TMPDIR:-/tmp}/rnn-spark-ci-dockerd.pid"

finish() {
    local rc=$?
    if [ "$STARTED_CLUSTER" = 1 ]; then
        if [ "$rc" != 0 ]; then
            say "last log lines of each service:"
            for c in $(docker ps -aq --filter "label=com.docker.compose.project=$RNN_SPARK_COMPOSE_PROJECT"); do
                echo "---- $(docker inspect --format '{{.Name}}' "$c")" >&2
                docker logs --tail 25 "$c" 2>&1 | sed 's/^/    /' >&2
            done
        fi
        scripts/compose-cluster down --volumes || say "teardown failed"
    fi
    if [ -n "$DOCKERD_PID" ] && [ "$PREPARE" = 1 ] && [ "$rc" = 0 ]; then
        echo "$DOCKERD_PID" > "$PIDFILE"
        say "left dockerd (pid $DOCKERD_PID) running for the compose stage"
    elif [ -n "$DOCKERD_PID" ]; then
        kill "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
        say "stopped the dockerd this stage (or its --prepare run) started (pid $DOCKERD_PID)"
    fi
    say "compose $([ "$PREPARE" = 1 ] && echo preparation || echo stage) took $(since "$T0") (exit $rc)"
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

apt_install() {
    local t=$(date +%s)
    say "installing $* (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; } \
        || { say "error: apt-get install $* failed"; exit 2; }
    say "installed $* in $(since "$t")"
}

# 1. the engine
command -v dockerd >/dev/null || apt_install docker.io docker-compose
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || apt_install docker-compose
if [ -f "$PIDFILE" ]; then  # a --prepare run's dockerd: this run stops it
    DOCKERD_PID=$(cat "$PIDFILE"); rm -f "$PIDFILE"
    kill -0 "$DOCKERD_PID" 2>/dev/null || DOCKERD_PID=""
fi
if ! docker info >/dev/null 2>&1; then
    t=$(date +%s)
    dockerd >/tmp/ci-compose-dockerd.log 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    if ! docker info >/dev/null 2>&1; then
        say "error: dockerd did not start in 60s; its log:"; tail -n 20 /tmp/ci-compose-dockerd.log >&2
        exit 2
    fi
    say "started dockerd (pid $DOCKERD_PID) in $(since "$t")"
fi
docker version --format 'ci-compose: engine {{.Server.Version}}, client {{.Client.Version}}' >&2 || true

# 2. the base image
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
    case "$BASE" in
    rnn-spark/*)
        command -v mmdebstrap >/dev/null || apt_install mmdebstrap
        t=$(date +%s)
        say "making $BASE: mmdebstrap --variant=minbase bookworm | docker import"
        mmdebstrap --quiet --variant=minbase bookworm - | docker import - "$BASE" >/dev/null \
            || { say "error: could not make the base image $BASE"; exit 2; }
        say "made $BASE in $(since "$t")" ;;
    *) say "pulling base image $BASE" ;;  # the build pulls it
    esac
fi

# 3. build, start, test
ca=()
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    ca=(--ca-cert /usr/local/share/ca-certificates)
fi
if [ "$PREPARE" = 1 ]; then
    t=$(date +%s)
    scripts/compose-cluster build --base-image "$BASE" "${ca[@]}" >/dev/null \
        || { say "error: the image build failed"; exit 2; }
    say "built the node image in $(since "$t")"
    exit 0
fi
STARTED_CLUSTER=1
t=$(date +%s)
scripts/compose-cluster test --timeout "${RNN_SPARK_COMPOSE_TIMEOUT:-1200}" --base-image "$BASE" "${ca[@]}" -- -q -rA
rc=$?
say "scripts/compose-cluster test: exit $rc after $(since "$t")"
docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' \
    $(docker ps -q --filter "label=com.docker.compose.project=$RNN_SPARK_COMPOSE_PROJECT") 2>/dev/null \
    | sed 's/^/ci-compose: memory /' >&2 || true
exit "$rc"

"""The resident channel alone: one round's frames over a plain socket vs TLS (runners/channel.py).

The driver (this process) and W task processes connect and prove the token as the pool does (TLS
to a pinned per-run certificate, or plain), then each round the driver sends every task a 2 KB
head frame and the shared frame and reads one result frame from each -- the bytes of a training
round with no compute between, so `extra_ms` (TLS minus plain, median per round) is an upper
bound on what TLS adds to a round (in a real round the driver's sends to one task overlap the
others' compute). Divide it by a plain round's `round_s` from benchmarks/rounds.py for the round
overhead. On a loaded machine wall times stretch with the load; the CPU seconds per round (the
driver's, and the W tasks' together, their start-up included) stretch much less. Plain and TLS
alternate, --repeat times each. The defaults are LSTM-256's frames in
benchmarks/rounds.py (325k parameters; Adam: the shared frame and each result ~3.9 MB).

    python3 benchmarks/channel.py [--workers 2] [--shared-mb 3.9] [--result-mb 3.9]
                                  [--rounds 20] [--repeat 3] [--out benchmarks/results/channel.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import socket
import statistics
import time
from pathlib import Path

from rnn_spark.runners.channel import (DriverTLS, admit, prove, recv_frame, send_frame,
                                       task_wrap)


def task(address, token: bytes, pin, index: int, result_bytes: int, rounds: int) -> None:
    with socket.create_connection(address) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = task_wrap(raw, pin) if pin is not None else raw
        assert prove(sock, token, index)
        result = os.urandom(result_bytes)
        for _ in range(rounds):
            recv_frame(sock)
            recv_frame(sock)
            send_frame(sock, result)


def cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def measure(tls: bool, args) -> tuple[list[float], float, float]:
    """(seconds per round, the first round, a warm-up, left out; the driver's and the tasks' CPU
    seconds per round)."""
    server = socket.create_server(("127.0.0.1", 0))
    token, driver_tls = os.urandom(32), DriverTLS() if tls else None
    pin = driver_tls.pin if driver_tls else None
    procs = [mp.Process(target=task, args=(server.getsockname(), token, pin, i,
                                           int(args.result_mb * 1e6), args.rounds + 1))
             for i in range(args.workers)]
    for p in procs:
        p.start()
    conns: list = [None] * args.workers
    while not all(conns):
        conn, _ = server.accept()
        index, sock = admit(conn, token, conns, driver_tls)
        conns[index] = sock
    head, shared, times = os.urandom(2000), os.urandom(int(args.shared_mb * 1e6)), []
    driver0, tasks0 = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
    for _ in range(args.rounds + 1):
        t0 = time.perf_counter()
        for sock in conns:
            send_frame(sock, head)
            send_frame(sock, shared)
        for sock in conns:
            recv_frame(sock)
        times.append(time.perf_counter() - t0)
    driver = (cpu(resource.RUSAGE_SELF) - driver0) / (args.rounds + 1)
    for p in procs:
        p.join()
    tasks = (cpu(resource.RUSAGE_CHILDREN) - tasks0) / (args.rounds + 1)
    for sock in [*conns, server]:
        sock.close()
    return times[1:], driver, tasks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shared-mb", type=float, default=3.9)
    ap.add_argument("--result-mb", type=float, default=3.9)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="", help="also write the JSON here")
    args = ap.parse_args(argv)
    runs: dict[str, list[float]] = {"plain": [], "tls": []}
    cpus: dict[str, list[tuple[float, float]]] = {"plain": [], "tls": []}
    for _ in range(args.repeat):
        for kind in runs:
            times, driver, tasks = measure(kind == "tls", args)
            runs[kind] += times
            cpus[kind].append((driver, tasks))
    out = {"benchmark": "channel", "workers": args.workers, "shared_mb": args.shared_mb,
           "result_mb": args.result_mb, "rounds": args.rounds, "repeat": args.repeat}
    for kind in runs:
        out[f"{kind}_ms"] = round(statistics.median(runs[kind]) * 1e3, 2)
        out[f"{kind}_driver_cpu_ms"] = round(statistics.median(d for d, _ in cpus[kind]) * 1e3, 2)
        out[f"{kind}_tasks_cpu_ms"] = round(statistics.median(t for _, t in cpus[kind]) * 1e3, 2)
    out["extra_ms"] = round(out["tls_ms"] - out["plain_ms"], 2)
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

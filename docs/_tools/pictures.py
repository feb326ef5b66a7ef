"""Draw the documentation's diagrams as plain SVG files (no dependencies, same bytes every run).

    python3 docs/_tools/pictures.py            # writes docs/img/{round,compose,house}.svg
    python3 docs/_tools/pictures.py --check    # exit 1 if a committed file differs (tests/docs)

The pictures are hand-placed boxes and arrows; edit the coordinates below and rerun. They use
system fonts only (no web font), so the site stays offline.
"""

from __future__ import annotations

import argparse
import sys
from html import escape
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "img"

DRIVER = ("#eaf1fd", "#3867c9")
TASK = ("#e8f6ee", "#2e8b57")
STORE = ("#f3f3f3", "#7a7a7a")
WARM = ("#fff4e0", "#c77d00")
TEXT = "#1f2328"


class Svg:
    def __init__(self, width: int, height: int, title: str):
        self.w, self.h, self.parts = width, height, []
        self.title = title

    def box(self, x, y, w, h, lines, colours, bold_first=True, size=13, rx=8, dashed=False):
        fill, stroke = colours
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        self.parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" '
                          f'fill="{fill}" stroke="{stroke}" stroke-width="1.6"{dash}/>')
        top = y + (h - len(lines) * (size + 4)) / 2 + size
        for i, line in enumerate(lines):
            weight = ' font-weight="600"' if bold_first and i == 0 else ""
            self.text(x + w / 2, top + i * (size + 4), line, size=size, extra=weight)

    def label(self, x, y, lines, size=12, anchor="start", colour=TEXT, italic=False):
        style = ' font-style="italic"' if italic else ""
        for i, line in enumerate(lines):
            self.text(x, y + i * (size + 4), line, size=size, anchor=anchor, colour=colour,
                      extra=style)

    def text(self, x, y, s, size=13, anchor="middle", colour=TEXT, extra=""):
        self.parts.append(f'<text x="{x:g}" y="{y:g}" font-size="{size}" text-anchor="{anchor}" '
                          f'fill="{colour}"{extra}>{escape(s)}</text>')

    def arrow(self, x1, y1, x2, y2, colour="#444", both=False, dashed=False):
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        start = ' marker-start="url(#head)"' if both else ""
        self.parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" '
                          f'stroke-width="1.6" marker-end="url(#head)"{start}{dash}/>')

    def render(self) -> str:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.w} {self.h}" '
                f'width="{self.w}" height="{self.h}" role="img" '
                f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">\n'
                f'<title>{escape(self.title)}</title>\n'
                '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
                'fill="#444"/></marker></defs>\n'
                f'<rect width="{self.w}" height="{self.h}" fill="#ffffff"/>\n')
        return head + "\n".join(self.parts) + "\n</svg>\n"


def round_svg() -> str:
    s = Svg(900, 470, "One training round of rnn-spark")
    s.label(20, 28, ["driver (training/loop.py: Trainer)"], size=14)
    s.label(560, 28, ["W Spark tasks (resident, or one job a round)"], size=14)
    s.box(20, 45, 360, 62, ["1. plan round g", "a pure function of (data, W, H*B, seed, epoch)"],
          DRIVER)
    s.box(20, 125, 360, 62, ["2. send start weights", "+ averaged optimizer state (Shared)"],
          DRIVER)
    s.box(20, 230, 360, 62, ["3. fold the W results", "mean delta, float64, fixed pairwise tree"],
          DRIVER)
    s.box(20, 310, 360, 62, ["4. averager: average | bmuf | nesterov", "-> the next global weights"],
          DRIVER)
    s.box(20, 390, 360, 62, ["5. every few rounds", "validate, checkpoint, metrics.jsonl"], DRIVER)
    for y in (107, 187, 292, 372):
        s.arrow(200, y, 200, y + (18 if y != 187 else 43))
    for i, (y, name) in enumerate(((50, "task 0"), (145, "task 1"), (260, "task W-1"))):
        s.box(560, y, 320, 78, [name, "reads only its rows (ShardReader)",
                                "H minibatches of TBPTT(k1, k2)", "its own local optimizer"],
              TASK, size=12)
    s.label(720, 235, ["..."], size=16, anchor="middle")
    for y in (89, 184, 299):
        s.arrow(380, 156, 558, y)
        s.arrow(558, y + 14, 382, 261, dashed=True)
    s.label(405, 118, ["Task + Shared"], size=12, colour="#3867c9")
    s.label(405, 330, ["TaskResult: end weights,", "n targets, times"], size=12, colour="#2e8b57")
    s.box(560, 365, 150, 87, ["run directory", "checkpoints/, best/", "model/, metrics"], STORE,
          size=12)
    s.box(730, 365, 150, 87, ["shards", "Parquet + manifest", "(HDFS or local)"], STORE, size=12)
    s.arrow(805, 365, 805, 340, dashed=True)
    s.arrow(380, 421, 558, 421)
    return s.render()


def compose_svg() -> str:
    s = Svg(900, 430, "The docker-compose cluster's services")
    s.box(20, 40, 420, 250, [""], STORE, rx=12, dashed=True)
    s.label(35, 62, ["HDFS (replication 2)"], size=14)
    s.box(40, 80, 380, 60, ["namenode", "NameNode UI + WebHDFS  localhost:9870"], WARM)
    s.box(40, 165, 180, 60, ["datanode-1", ":9864"], WARM)
    s.box(240, 165, 180, 60, ["datanode-2", ":9865"], WARM)
    s.arrow(130, 140, 130, 163, both=True)
    s.arrow(330, 140, 330, 163, both=True)
    s.label(40, 255, ["volumes keep HDFS between up/down", "(down --volumes wipes it)"], size=12,
            italic=True)
    s.box(460, 40, 420, 250, [""], STORE, rx=12, dashed=True)
    s.label(475, 62, ["YARN"], size=14)
    s.box(480, 80, 380, 60, ["resourcemanager", "YARN UI  localhost:8088"], DRIVER)
    s.box(480, 165, 180, 75, ["nodemanager-1", "2 GiB, 2 vcores", "executors, AM"], TASK, size=12)
    s.box(680, 165, 180, 75, ["nodemanager-2", "2 GiB, 2 vcores", "executors, AM"], TASK, size=12)
    s.arrow(570, 140, 570, 163)
    s.arrow(770, 140, 770, 163)
    s.box(40, 330, 380, 80, ["client", "rnn-spark, spark-submit; driver UI localhost:4040",
                             "docker-compose exec client ..."], DRIVER, size=12)
    s.box(480, 330, 380, 80, ["spark-history", "Spark history server  localhost:18080",
                              "reads event logs from HDFS"], DRIVER, size=12)
    s.arrow(230, 330, 230, 292)
    s.arrow(420, 345, 560, 292)
    s.arrow(660, 330, 420, 275, dashed=True)
    s.label(250, 316, ["HDFS RPC / WebHDFS"], size=11)
    s.label(470, 312, ["spark-submit"], size=11)
    s.label(20, 425, ["Every service runs one image, rnn-spark/node:<hash> (docker/Dockerfile)."],
            size=11, italic=True)
    return s.render()


def house_svg() -> str:
    layers = [
        ("cli/, jobs/", "click commands, spark-submit entry points: parse and call"),
        ("serve/, submit/, training/, report/", "use a model; launch on YARN; the Trainer; the report"),
        ("runners/", "how a round's tasks run: inline, Spark, resident tasks"),
        ("data/, ingest/", "the shard format and its writer"),
        ("fs/", "one filesystem API: local paths and hdfs:// (WebHDFS), atomic writes"),
        ("engine/", "pure NumPy: cells, model, TBPTT, optimizers (imports nothing of ours)"),
    ]
    s = Svg(800, 60 + 62 * len(layers), "Imports run one way: from the commands down to the engine")
    s.label(20, 28, ["imports run one way: each room imports only the rooms below it"], size=14)
    for i, (room, what) in enumerate(layers):
        y = 45 + 62 * i
        s.box(20, y, 270, 44, [room], DRIVER if i < 2 else TASK if i < 4 else STORE)
        s.label(310, y + 27, [what], size=12)
        if i:
            s.arrow(155, y - 18, 155, y - 2)
    return s.render()


PICTURES = {"round.svg": round_svg, "compose.svg": compose_svg, "house.svg": house_svg}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare, do not write")
    args = ap.parse_args(argv)
    stale = []
    for name, draw in PICTURES.items():
        path, svg = OUT / name, draw()
        if args.check:
            if not path.is_file() or path.read_text() != svg:
                stale.append(name)
        else:
            OUT.mkdir(exist_ok=True)
            path.write_text(svg)
    if stale:
        print(f"pictures.py: {', '.join(stale)} differ from docs/_tools/pictures.py; "
              f"run python3 docs/_tools/pictures.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

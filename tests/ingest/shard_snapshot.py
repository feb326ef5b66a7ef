"""snapshot(root): every file below root as {relative path: bytes}, for byte-identity checks
(shared by the Spark-engine tests; a plain module so tests can import it)."""

import os


def snapshot(root) -> dict:
    out = {}
    for dp, _, names in os.walk(root):
        for name in names:
            p = os.path.join(dp, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out

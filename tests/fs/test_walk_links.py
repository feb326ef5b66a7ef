"""A recursive listing or ``**`` follows a directory symlink once, and a loop ends (#21)."""

import os

from rnn_spark import fs


def test_symlink_loop_and_second_link_are_walked_once(tmp_path):
    d = tmp_path / "d"
    (d / "a").mkdir(parents=True)
    (d / "a" / "x.txt").write_text("x")
    os.symlink("..", d / "a" / "up")      # a loop: d/a/up/a/up/...
    os.symlink("a", d / "b")              # the same directory under a second name
    files = fs.walk_files(str(d))
    assert files == [str(d / "a" / "x.txt")]
    assert fs.glob(str(d / "**" / "*.txt")) == [str(d / "a" / "x.txt")]

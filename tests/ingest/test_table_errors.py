"""`rnn-spark ingest table` bad input: one line, exit code 2, nothing created (local engine)."""

import os

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from rnn_spark.cli import main

from table_data import events

BASE = ["--group-by", "user", "--order-by", "ts", "--categorical", "event", "--label", "churn"]


def _run(capsys, *argv):
    code = main(["ingest", "table", "-q", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _with(table: pa.Table, col: str, i: int, value) -> pa.Table:
    vals = table[col].to_pylist()
    vals[i] = value
    return table.set_column(table.schema.get_field_index(col), col, pa.array(vals))


def _bad_tables():
    e = events(10)
    csv_amount = e.set_column(3, "amount", pa.array([str(v) for v in e["amount"].to_pylist()]))
    return {
        "misspelt": (e, ["--categorical", "evnt"], "no column 'evnt' (--categorical); did you "
                                                   "mean 'event'? columns: user, ts, event"),
        "missing": (e, ["--numeric", "price"], "no column 'price' (--numeric)"),
        "null key": (_with(e, "user", 3, None), [], "column 'user' (--group-by) is missing "
                                                    "(null) in 1 row(s); fill them or drop them"),
        "null order": (_with(e, "ts", 5, None), [], "column 'ts' (--order-by) is missing (null) "
                                                    "in 1 row(s)"),
        "text in numeric": (_with(csv_amount, "amount", 2, "abc"), ["--numeric", "amount"],
                            "column 'amount' (--numeric) holds 1 value(s) that are not a "
                            "number, e.g. 'abc'; fix them or leave the column out"),
        "nan in numeric": (_with(e, "amount", 2, float("nan")), ["--numeric", "amount"],
                           "column 'amount' (--numeric) holds 1 value(s) that are NaN/Inf"),
        "date numeric": (e.append_column("day", pa.array([None] * e.num_rows, pa.date32())),
                         ["--numeric", "day"], "column 'day' (--numeric) is date; a numeric "
                                               "column must hold numbers"),
        "one class": (e.set_column(4, "churn", pa.array([1] * e.num_rows)), [],
                      "column 'churn' (--label) holds one class (1) in every row; a classifier "
                      "needs at least 2"),
        "empty": (e.slice(0, 0), [], "the table has no rows"),
        "too short": (e, ["--min-len", "40"], "no sequence has at least --min-len 40 step(s)"),
        "null label": (_with(e, "churn", 0, None), [], "column 'churn' (--label) is missing"),
        "float categorical": (e, ["--categorical", "amount"], "column 'amount' (--categorical) "
                                                              "is float; a categorical column"),
    }


BAD = _bad_tables()


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_rows_one_line_nothing_written(capsys, tmp_path, case):
    table, extra, msg = BAD[case]
    src = tmp_path / "e.parquet"
    pq.write_table(table, src)
    args = BASE + extra
    if extra[:1] == ["--categorical"]:  # replace the base's --categorical
        args = [a for i, a in enumerate(BASE) if BASE[i - 1:i] != ["--categorical"]
                and a != "--categorical"] + extra
    code, out, err = _run(capsys, "--path", str(src), "--out", str(tmp_path / "o"), *args)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert msg in err, err
    assert sorted(os.listdir(tmp_path)) == ["e.parquet"]


OPTION_ERRORS = [
    (["--sequence", "features"], "--group-by: not with --sequence"),
    ([], "name the rows with one of --table NAME, --sql QUERY or --path URI"),
    (["--table", "t"], "--table and --path: give only one source"),
    (["--next", "amount"], "--label and --next: give only one of them"),
    (["--session-gap", "soon"], "--session-gap: 'soon' is not a duration like 30m"),
    (["--session-gap", "30m"], "--session-gap: '30m' has a unit, but the --order-by column is a "
                               "number"),
    (["--split-at", "5"], "--split-at: only with --split-by time"),
    (["--stride", "2"], "--stride: only with --max-len"),
    (["--val-fraction", "1.5"], "--val-fraction: 1.5 must be in [0, 1)"),
    (["--format", "csv"], "cannot read it as csv"),
    (["--engine", "local", "--table", "x"], "give only one source"),
]


@pytest.mark.parametrize("extra,msg", OPTION_ERRORS)
def test_bad_options_one_line(capsys, tmp_path, extra, msg):
    src = tmp_path / "e.parquet"
    pq.write_table(events(5), src)
    path = [] if msg.startswith("name the rows") else ["--path", str(src)]
    code, out, err = _run(capsys, *path, "--out", str(tmp_path / "o"), *BASE, *extra)
    assert code == 2 and err.count("\n") == 1 and msg in err, err
    assert sorted(os.listdir(tmp_path)) == ["e.parquet"]


def test_next_must_be_an_input_and_sql_needs_spark(capsys, tmp_path):
    src = tmp_path / "e.parquet"
    pq.write_table(events(5), src)
    code, _, err = _run(capsys, "--path", str(src), "--out", str(tmp_path / "o"), "--group-by",
                        "user", "--order-by", "ts", "--categorical", "event", "--next", "amount")
    assert code == 2 and "--next amount: not an input column; add it to --categorical or " \
                          "--numeric" in err
    code, _, err = _run(capsys, "--sql", "SELECT 1", "--engine", "local", "--out",
                        str(tmp_path / "o"), *BASE)
    assert code == 2 and "--engine local: reads --path only" in err
    assert sorted(os.listdir(tmp_path)) == ["e.parquet"]


def test_output_guard(capsys, tmp_path):
    data = tmp_path / "raw"
    data.mkdir()
    pq.write_table(events(10), data / "e.parquet")
    code, _, err = _run(capsys, "--path", str(data), "--format", "parquet", "--out",
                        str(data / "ds"), *BASE)
    assert code == 2 and "lies inside the input" in err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    code, _, err = _run(capsys, "--path", str(data), "--format", "parquet", "--out", str(mine),
                        *BASE, "--overwrite")
    assert code == 2 and "holds files that are not a dataset" in err
    assert (mine / "notes.txt").read_text() == "keep"
    out = tmp_path / "ds"
    assert _run(capsys, "--path", str(data), "--format", "parquet", "--out", str(out), *BASE,
                "-q")[0] == 0
    code, _, err = _run(capsys, "--path", str(data), "--format", "parquet", "--out", str(out),
                        *BASE)
    assert code == 2 and "output already exists; pass --overwrite" in err
    assert _run(capsys, "--path", str(data), "--format", "parquet", "--out", str(out), *BASE,
                "-q", "--overwrite")[0] == 0
    assert main(["ingest", "verify", str(out)]) == 0


def test_csv_text_in_a_numeric_column(capsys, tmp_path):
    t = events(8)
    src = tmp_path / "e.csv"
    pacsv.write_csv(_with(t.set_column(3, "amount", pa.array([str(v) for v in
                                                              t["amount"].to_pylist()])),
                          "amount", 4, "n/a"), src)
    code, _, err = _run(capsys, "--path", str(src), "--out", str(tmp_path / "o"), *BASE,
                        "--numeric", "amount")
    assert code == 2 and "e.g. 'n/a'" in err

"""`boardsync members | boards | history | changes | coverage | export` against the simulator's truth."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import polars as pl
import pytest

from boardsync_dagster import cli, query
from tests.query.test_api import expected_members
from tests.query.world import FIRST, LAST, World

MISSING_DAY = date(2026, 3, 5)  # never synced: answered from 03-03


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def as_text(rows: list) -> list[tuple[str | None, ...]]:
    return [tuple(None if v is None else str(v) for v in row) for row in rows]


def test_members_as_json_on_a_missing_day(world: World, capsys):
    code = max(world.truth[FIRST].boards, key=lambda c: len(world.truth[FIRST].boards[c].members))
    status, out, err = run(
        capsys, "members", code, "--on", str(MISSING_DAY), "--format", "json", "--db", str(world.db)
    )
    assert status == 0
    assert err == f"{MISSING_DAY} was not synced completely: answered as of 2026-03-03\n"
    rows = [list(row.values()) for row in json.loads(out)]
    assert as_text(rows) == as_text(expected_members(world, code, MISSING_DAY))


def test_boards_as_csv_and_as_a_table(world: World, capsys):
    stock = sorted(world.truth[LAST].stocks)[0]
    expected = query.boards(stock, LAST, db=world.db)
    status, out, _ = run(capsys, "boards", stock, "--on", str(LAST), "--format", "csv", "--db", str(world.db))
    assert status == 0
    assert pl.read_csv(out.encode(), infer_schema=False).rows() == as_text(expected.rows())
    truth = {c for c, b in world.truth[LAST].boards.items() if stock in b.members}
    assert set(expected["board_code"]) == truth
    status, out, _ = run(capsys, "boards", stock, "--db", str(world.db))
    lines = out.splitlines()
    assert lines[0].split() == expected.columns
    assert lines[-1] == f"({len(truth)} rows)"
    assert [line.split()[2] for line in lines[1:-1]] == expected["board_code"].to_list()


def test_history_and_changes_as_json(world: World, capsys):
    ((before, _after),) = world.changes[date(2026, 3, 3)].boards_renamed
    status, out, _ = run(capsys, "history", "--board", before.name, "--format", "json", "--db", str(world.db))
    assert status == 0
    expected = sorted(
        (b, s, *stay) for (b, s), found in world.stays.items() if b == before.code for stay in found
    )
    assert as_text([list(r.values()) for r in json.loads(out)]) == as_text(expected)
    status, out, _ = run(
        capsys, "changes", "--since", "2026-03-06", "--format", "json", "--db", str(world.db)
    )
    expected = query.changes("2026-03-06", db=world.db)
    assert as_text([list(r.values()) for r in json.loads(out)]) == as_text(expected.rows())
    added = {(r[2], r[4]) for r in expected.rows() if r[0] == date(2026, 3, 6) and r[5] == "added"}
    assert added == world.pairs(date(2026, 3, 6)) - world.pairs(date(2026, 3, 3))


def test_coverage_as_parquet(world: World, capsys, tmp_path):
    out = tmp_path / "coverage.parquet"
    status, _, _ = run(capsys, "coverage", "--format", "parquet", "--out", str(out), "--db", str(world.db))
    assert status == 0
    days = pl.read_parquet(out)
    assert days.rows() == query.coverage(db=world.db).rows()
    assert dict(zip(days["snapshot_date"], days["status"], strict=True)) == {
        day: {"missing": "not_synced"}.get(
            world.status.get(day, "not_synced"), world.status.get(day, "not_synced")
        )
        for day in days["snapshot_date"]
    }


def test_export_writes_each_complete_day_as_parquet(world: World, capsys, tmp_path):
    out = tmp_path / "export"
    status, _, err = run(capsys, "export", "--out", str(out), "--db", str(world.db))
    assert status == 0 and err == f"exported {len(world.complete_days)} complete days to {out}\n"
    days = sorted(p.name for p in (out / "members").iterdir())
    assert days == [f"snapshot_date={day}" for day in world.complete_days]
    for day in world.complete_days:
        frame = pl.read_parquet(out / "members" / f"snapshot_date={day}")
        state = world.truth[day]
        expected = {
            (code, b.board.name, b.board.kind.value, s, state.stocks[s].name, state.stocks[s].market)
            for code, b in state.boards.items()
            for s in b.members
        }
        assert (
            set(
                frame.select(
                    "board_code", "board_name", "board_kind", "stock_code", "stock_name", "market"
                ).rows()
            )
            == expected
        )
    history = pl.read_parquet(out / "board_membership_history.parquet")
    assert history.height == sum(len(found) for found in world.stays.values())
    status, _, err = run(capsys, "export", "--out", str(out), "--db", str(world.db))
    assert (
        status == 2 and err == f"boardsync export: {out} is not an empty directory: export into a new one\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["members", "BK0001", "--on", "2026-03-01"],
            "2026-03-01 is before the first complete day, 2026-03-02",
        ),
        (["boards", "600000", "--on", "2026-02-30"], "'2026-02-30' is not a date: use YYYY-MM-DD"),
        (["members", "没有这个板块"], "no board was ever named '没有这个板块'"),
        (["coverage", "--format", "parquet"], "--format parquet writes a file: add --out FILE"),
        (
            ["changes", "--since", "2026-03-09", "--until", "2026-03-02"],
            "--until 2026-03-02 is before --since",
        ),
    ],
)
def test_errors_are_one_line_and_exit_2(world: World, capsys, argv, message):
    status, out, err = run(capsys, *argv, "--db", str(world.db))
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"boardsync {argv[0]}: ") and message in err


def test_a_missing_database_or_marts_say_what_to_run(capsys, tmp_path):
    status, _, err = run(capsys, "coverage", "--db", str(tmp_path / "none.duckdb"))
    assert status == 2 and "no database at" in err and "boardsync sync" in err

    with duckdb.connect(str(tmp_path / "unbuilt.duckdb")) as con:
        con.execute("create schema raw; create table raw.board_list (snapshot_date date)")
    status, _, err = run(capsys, "members", "BK0001", "--db", str(tmp_path / "unbuilt.duckdb"))
    assert status == 2 and err == (
        f"boardsync members: {tmp_path / 'unbuilt.duckdb'} has no marts.complete_days: run `boardsync sync` (it builds "
        "the marts) or `dbt build` in dbt_project/\n"
    )

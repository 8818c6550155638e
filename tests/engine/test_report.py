from boardsync_dagster.engine.report import SEED_FIGURES, render_table
from boardsync_dagster.engine.types import KindReport, SyncReport


def test_seed_column_comes_from_seed_figures_and_a_kind_not_fetched_shows_a_dash():
    report = SyncReport(kinds={"concept": KindReport(boards_ok=3, boards_total=5, members=120)}, ips_used=4)
    lines = render_table(report).splitlines()[2:]  # past the header and its rule
    shown = {cells[1].strip(): [c.strip() for c in cells[2:4]] for cells in (ln.split("|") for ln in lines)}
    total = SEED_FIGURES["total"]
    assert shown["total boards ok"] == [f"{total['boards_ok']}/{total['boards_total']}", "3/5"]
    assert shown["IPs used"] == [f"{total['ips']}/{SEED_FIGURES['max_ips']}", "4"]
    assert shown["industry boards ok"][1] == "-" and shown["concept members"][1] == "120"
    assert shown["total members"] == [f"{total['members']:,}", "120"]


def test_the_table_shows_what_adaptive_pacing_learned():
    report = SyncReport(
        ban_model={"estimate": {"spacing": 1.25, "cap": 100, "bans": 3}, "history": [], "bans": []}
    )
    table = render_table(report)
    assert "0.80 requests/s, at most 100 requests; 3 bans seen" in table

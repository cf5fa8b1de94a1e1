"""Wide tables in an 80-column terminal: the least needed columns go, and no id is cut or wrapped."""

from rich.console import Console

from flowlake.cli import fitted_table

COLUMNS = ["request", "intent", "confidence", "received", "due by", "status", "user token"]
REQUESTS = [[f"3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b{i:02d}/RECTIFICATION", "RECTIFICATION", "0.93",
             "2026-12-01 09:14", "2026-12-31", "OPEN", "9" * 64] for i in range(3)]


def render(table, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text().splitlines()


def test_narrow_terminal_keeps_whole_pasteable_ids_within_80_columns():
    lines = render(fitted_table(COLUMNS, REQUESTS, ["request", "due by", "status"], 80), 80)
    assert max(len(line) for line in lines) <= 80
    for request_id, *_ in REQUESTS:
        assert any(request_id in line for line in lines), f"{request_id} cut or wrapped"
    assert not any("9" * 64 in line for line in lines)
    assert "user token" not in lines[1]


def test_wide_terminal_or_flag_shows_every_column():
    for lines in (render(fitted_table(COLUMNS, REQUESTS, ["request"], 200), 200),
                  render(fitted_table(COLUMNS, REQUESTS, ["request"], 80, wide=True), 400)):
        assert all(column in lines[1] for column in COLUMNS)
        assert any("9" * 64 in line for line in lines)


def test_markup_does_not_count_toward_the_width():
    rows = [["flowlake-medallion", "[red]RESTARTING[/red]", "12 s"]]
    table = fitted_table(["job", "state", "up"], rows, ["job"], len("flowlake-medallion") + len("RESTARTING") + 14)
    assert [c.header for c in table.columns] == ["job", "state", "up"]

"""The importer tells the truth about every row (issue 10, part 3): runaway quotes, impossible counts,
and a folder with an unreadable entry. Real files in tmp_path, the real CLI."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner
from hardening_helpers import ct_export, ct_lines, scalar

from collectors.csv_reader import MAX_COUNT, open_export
from monitor.cli import main
from monitor.ingest import ingest_file


def test_an_unterminated_quote_mid_file_is_reported_and_the_rows_after_it_kept(
    config, engine, tmp_path
) -> None:
    header, rows = ct_lines(53)
    rows[3] = rows[3].replace(",Ayo vote", ',"Ayo vote')  # line 5: a quote that never closes
    path = tmp_path / "runaway.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = ingest_file(config, engine, path)
    assert result.status == "partial"
    assert result.counts.read == 53 and result.rejected_total == 1
    rejection = result.rejections[0]
    assert rejection.line == 5
    assert (
        "a quoted field opens on line 5" in rejection.reason and "to the end of the file" in rejection.reason
    )
    assert scalar(engine, "select count(*) from posts") == 52


def test_a_stray_quote_that_closes_on_the_next_row_costs_only_its_own_row(config, engine, tmp_path) -> None:
    header, rows = ct_lines(20)
    text = "Ayo vote Kota Probolinggo #WeLoveProbolinggo"
    rows[9] = rows[9].replace(f",{text},", f',"{text},')  # line 11 opens a quote and never closes it
    rows[10] = rows[10].replace(f",{text},", f',"{text}",')  # line 12 quotes its text properly
    path = tmp_path / "stray.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = ingest_file(config, engine, path)
    assert result.rejected_total == 1 and result.rejections[0].line == 11
    assert "over 2 lines" in result.rejections[0].reason
    assert scalar(engine, "select count(*) from posts") == 19


def test_a_legitimate_multi_line_caption_is_not_a_runaway(tmp_path) -> None:
    path = tmp_path / "captions.csv"
    path.write_text('id,text,likes\n1,"two\nlines, with a comma",3\n2,"say ""hi""\n",4\n3,plain,5\n')
    export = open_export(path)
    runaways: list[int] = []
    records = list(export.records(on_runaway=lambda line, *_: runaways.append(line)))
    assert [line for line, _ in records] == [2, 4, 6] and not runaways


def test_impossible_counts_are_rejects_and_sums_cannot_overflow(config, engine, tmp_path) -> None:
    header, rows = ct_lines(4)
    rows[0] = rows[0].replace("Photo,12,5,", f"Photo,12,{MAX_COUNT + 1},")
    rows[1] = rows[1].replace("Photo,12,5,", "Photo,12,-5,")
    rows[2] = rows[2].replace("Photo,12,5,", f"Photo,12,{MAX_COUNT - 10},")  # + the other reactions
    path = tmp_path / "hostile.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = ingest_file(config, engine, path)
    reasons = {r.line: r.reason for r in result.rejections}
    assert "too large for a count" in reasons[2] and "not a count" in reasons[3]
    assert scalar(engine, "select count(*) from posts") == 2
    # Many files of posts at the bound still add up inside a 64-bit integer.
    for i in range(3):
        header, more = ct_lines(200, first=100 + 200 * i)
        more = [r.replace("Photo,12,5,", f"Photo,12,{MAX_COUNT - 10},") for r in more]
        (tmp_path / f"big{i}.csv").write_text("\n".join([header, *more]) + "\n", encoding="utf-8")
        ingest_file(config, engine, tmp_path / f"big{i}.csv")
    total = scalar(engine, "select sum(likes) from posts")
    assert isinstance(total, int) and total > 600 * (MAX_COUNT - 10)


def test_ingest_of_a_folder_with_unreadable_entries_imports_the_rest(config_path, config, tmp_path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    ct_export(folder / "a_good.csv", 3)
    (folder / "b_dangling.csv").symlink_to(tmp_path / "nowhere.csv")
    os.mkfifo(folder / "c_pipe.csv")
    (folder / "d_folder.csv").mkdir()
    ct_export(folder / "e_good.csv", 2, first=20)
    result = CliRunner().invoke(main, ["--config", str(config_path), "ingest", str(folder)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "b_dangling.csv: REJECTED: is a symbolic link to nothing" in result.output
    assert "c_pipe.csv: REJECTED: is not a regular file" in result.output
    assert "total: 4 file(s), 5 rows read, 5 new" in result.output
    assert "d_folder.csv" not in result.output


def test_a_file_that_is_not_readable_is_a_reject_not_a_crash(config, engine, tmp_path: Path) -> None:
    gone = tmp_path / "gone.csv"
    result = ingest_file(config, engine, gone)
    assert result.status == "rejected" and "no such file" in result.message


def test_a_file_full_of_runaway_quotes_is_rejected_after_a_bounded_effort(config, engine, tmp_path) -> None:
    header, rows = ct_lines(60)
    text = "Ayo vote Kota Probolinggo #WeLoveProbolinggo"
    rows = [r.replace(f",{text},", f',"{text},') if i % 2 == 0 else r for i, r in enumerate(rows)]
    path = tmp_path / "quotes.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = ingest_file(config, engine, path)
    assert result.status == "rejected"
    assert "more than 20 quoted fields do not close" in result.message
    assert result.rejected_total == 20  # each recovered one is a reject; the rows between them are kept
    assert scalar(engine, "select count(*) from posts") > 0

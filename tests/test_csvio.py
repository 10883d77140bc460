"""Cin7's own CSV format, byte for byte."""
from pathlib import Path

from inventory_tools import csvio
from tests.helpers import SAMPLE_CSV


def test_real_cin7_export_round_trips_byte_for_byte(loaded, tmp_path):
    out = tmp_path / "again.csv"
    loaded("export", out)
    assert out.read_bytes() == SAMPLE_CSV.read_bytes()


def test_status_filter_and_format_details(loaded, tmp_path):
    out = tmp_path / "active.csv"
    loaded("export", out, "--status", "active")
    data = out.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") >= 101 and b",ACTIVE," in data


def test_formula_like_values():
    for text in ("=1+1", "+SUM(A1)", "-2+3", "@cmd", '=HYPERLINK("http://x","click")'):
        assert csvio.formula_like(text), text
    for text in ("-", "-5", "+3.5", "", "a=b", "1E+5"):
        assert not csvio.formula_like(text), text


def test_formula_like_values_are_written_verbatim_and_warned(run, tmp_path):
    src = Path(tmp_path / "in.csv")
    header, records, _ = csvio.read_records(SAMPLE_CSV.read_text(encoding="utf-8"))
    rec = records[0]
    rec[header.index("Name")] = '=HYPERLINK("http://x","click")'
    import csv

    with src.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\r\n").writerows([header, rec])
    run("import", src, "--yes")
    out = tmp_path / "out.csv"
    result = run("export", out)
    assert "starts like a formula" in result.stderr
    assert b'"=HYPERLINK(""http://x"",""click"")"' in out.read_bytes()


def test_records_spanning_lines_keep_their_line_numbers():
    text = 'A,B\r\n"x","multi\r\nline"\r\n"y","z"\r\n'
    header, records, lines = csvio.read_records(text)
    assert records == [["x", "multi\r\nline"], ["y", "z"]]
    assert lines == [2, 4]

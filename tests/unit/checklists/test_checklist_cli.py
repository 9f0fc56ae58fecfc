"""python -m checklists: check, to-xlsx, from-xlsx, hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from checklists import BUNDLED_DIR, content_hash, load_bundled
from checklists.__main__ import main


def test_check_lists_every_bundled_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == sorted(load_bundled())


def test_xlsx_round_trip_reproduces_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = BUNDLED_DIR / "vacant_unit.json"
    assert main(["to-xlsx", str(source), str(tmp_path / "v.xlsx")]) == 0
    assert main(["from-xlsx", str(tmp_path / "v.xlsx"), str(tmp_path / "vacant_unit.json")]) == 0
    assert (tmp_path / "vacant_unit.json").read_text(encoding="utf-8") == source.read_text(encoding="utf-8")
    assert main(["hash", str(source)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == content_hash(load_bundled()["vacant_unit"])


def test_errors_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.xlsx").write_bytes(b"nope")
    assert main(["from-xlsx", str(tmp_path / "bad.xlsx"), str(tmp_path / "x.json")]) == 1
    assert "not a readable .xlsx file" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()

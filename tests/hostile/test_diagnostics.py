"""One line per message: warnings as ``charsuite: warning: ...``; library logging silenced."""

from __future__ import annotations

import logging
import warnings

import click

from charsuite.cli import cli, main
from charsuite.exceptions import CharsuiteWarning


@cli.command("_hostile_noise", hidden=True)
def _noise():
    warnings.warn("first line\nsecond line of a long warning", CharsuiteWarning, stacklevel=1)
    warnings.warn("a numpy-ish warning", RuntimeWarning, stacklevel=1)
    logging.getLogger("access_parser").warning("Could not find overflow record")
    click.echo("done")


def test_warnings_one_line_and_logging_silenced(capsys, monkeypatch):
    from charsuite import cli as cli_module

    monkeypatch.setitem(
        cli_module.COMMANDS, "_hostile_noise", ("tests.hostile.test_diagnostics", "")
    )
    monkeypatch.setattr("tests.hostile.test_diagnostics.cli", _noise, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["_hostile_noise"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "charsuite: warning: first line second line of a long warning",
        "charsuite: warning: RuntimeWarning: a numpy-ish warning",
    ]
    assert warnings.showwarning is not None and logging.root.manager.disable == 0


def test_damaged_arbin_res_has_no_logging_lines(shared_data, tmp_path, capsys):
    src = shared_data("echem") / "jepegit_cellpy/testdata/data/20160805_test001_45_cc_01.res"
    assert src.is_file(), f"{src} missing from the shared data"
    raw = bytearray(src.read_bytes())
    raw[40000:60000] = bytes(b ^ 0xFF for b in raw[40000:60000])
    bad = tmp_path / "damaged.res"
    bad.write_bytes(bytes(raw))
    code = main(["info", str(bad)])
    err = capsys.readouterr().err
    assert code in (0, 2)
    assert err.count("\n") == (1 if code else 0), err

"""The files in examples/ for document events run as documented, on a real database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def world(sample):
    sample.ok("contact", "edit", "C1", "--external-id", "10000", "--salesperson", "JO")
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    return sample


def env_for(db_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "ILOG_DATABASE_URL": db_url, **extra}
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = scripts + os.pathsep + env.get("PATH", "")
    return env


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs sh")
def test_shell_print_hook(world, db_url, tmp_path):
    """One key per print job: a retried hook records nothing new, a real reprint of the very
    same file (another job) is occurrence 2."""
    pdf = tmp_path / "INV-1042.pdf"
    pdf.write_bytes(b"%PDF-1.4 invoice 1042")
    hook = [str(EXAMPLES / "print-hook.sh"), "sales.invoice", "INV-1042", "P1", str(pdf)]
    first = run(hook, env_for(db_url, ERP_PRINT_JOB="7781"))
    assert first.returncode == 0, first.stderr
    assert first.stdout == "1\n"
    retry = run(hook, env_for(db_url, ERP_PRINT_JOB="7781"))  # the ERP retries the same print job: nothing new
    assert (retry.returncode, retry.stdout) == (0, "1\n")
    entry = world.ok("show", "1", "-f", "json").json()
    assert (entry["document_no"], entry["contact_no"], entry["template_code"]) == ("INV-1042", "P1", "INVOICE")
    assert entry["attachment_id"] is not None and entry["idempotency_key"] == "print-job-7781"
    reprint = run(hook, env_for(db_url, ERP_PRINT_JOB="7782"))  # the same file printed again: a new job
    assert reprint.stdout == "2\n" and world.ok("show", "2", "-f", "json").json()["occurrence"] == 2
    unmapped = run([str(EXAMPLES / "print-hook.sh"), "sales.shipment", "SH-1", "P1"], env_for(db_url))
    assert (unmapped.returncode, unmapped.stdout) == (0, "") and "no template is set up" in unmapped.stderr
    refused = run([str(EXAMPLES / "print-hook.sh"), "sales.invoice", "INV-9", "NOPE"], env_for(db_url))
    assert refused.returncode == 1 and refused.stderr == "ilog: error: unknown contact 'NOPE'\n"
    usage = run([str(EXAMPLES / "print-hook.sh"), "sales.invoice"], env_for(db_url))
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_python_print_hook(world, db_url, tmp_path):
    pdf = tmp_path / "INV-7.pdf"
    pdf.write_bytes(b"%PDF-1.4 invoice 7")
    hook = [sys.executable, str(EXAMPLES / "print_hook.py"), "sales.invoice", "INV-7", "--contact", "P2",
            "--file", str(pdf), "--print-job", "12"]
    first = run(hook, env_for(db_url))
    assert first.returncode == 0, first.stderr
    assert first.stdout == "1\n"
    retry = run(hook, env_for(db_url))
    assert retry.stdout == "1\n" and "already recorded as entry 1" in retry.stderr
    entry = world.ok("show", "1", "-f", "json").json()
    assert (entry["contact_no"], entry["document_no"], entry["source"]) == ("P2", "INV-7", "event")
    reprint = run([*hook[:-1], "13"], env_for(db_url))  # the same file, another print job
    assert reprint.stdout == "2\n" and world.ok("show", "2", "-f", "json").json()["occurrence"] == 2
    unresolved = run([*hook[:4], "--ref", "10000"], env_for(db_url))
    assert unresolved.returncode == 1 and "cannot resolve reference '10000'" in unresolved.stderr
    # with the ERP plugin in the plugins directory, --ref works in-process too
    env = env_for(db_url, ILOG_PLUGINS_DIR=str(EXAMPLES / "plugins"))
    env.pop("ILOG_LOAD_PLUGINS", None)
    resolved = run([*hook[:4], "--ref", "C010000"], env)
    assert resolved.returncode == 0, resolved.stderr
    entry = world.ok("show", resolved.stdout.strip(), "-f", "json").json()
    assert (entry["contact_no"], entry["salesperson_code"]) == ("C1", "JO")


def test_erp_customers_plugin(world, db_url, monkeypatch):
    from typer.testing import CliRunner

    from ilog.cli import build_app
    from ilog.plugins.host import make_plugin_host

    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "erp_customers")
    host = make_plugin_host(entrypoints=False, plugins_dir=EXAMPLES / "plugins")
    assert host.info["erp_customers"].hooks == ["enrich_interaction", "resolve_contact"]
    app = build_app(host)

    def event(*args: str):
        result = CliRunner().invoke(app, ["--db", db_url, "event", "sales.invoice", *args, "-q"])
        assert result.exit_code == 0, result.stderr
        return world.ok("show", result.stdout.strip(), "-f", "json").json()

    for ref in ("10000", "C10000", "C-010000"):
        entry = event("--document-no", f"INV-{ref}", "--ref", ref)
        assert (entry["contact_no"], entry["salesperson_code"]) == ("C1", "JO")
    # a person's document entry gets the company's salesperson; a given contact is left alone
    assert event("--document-no", "INV-P", "--contact", "P1")["salesperson_code"] == "JO"
    assert event("--document-no", "INV-L", "--contact", "P3")["salesperson_code"] is None
    result = CliRunner().invoke(app, ["--db", db_url, "event", "sales.invoice", "--document-no", "X", "--ref", "99"])
    assert result.exit_code == 1 and "cannot resolve reference '99'" in result.stderr


def _flush_commands() -> list[list[str]]:
    """The ``ilog spool flush`` command lines of examples/crontab and of the systemd service."""
    import shlex

    commands = []
    for line in (EXAMPLES / "crontab").read_text().splitlines():
        if line and not line.startswith("#") and "spool flush" in line:
            commands.append(shlex.split(line.split(">>", 1)[0])[5:])
    for line in (EXAMPLES / "systemd" / "ilog-spool-flush.service").read_text().splitlines():
        if line.startswith("ExecStart="):
            commands.append(shlex.split(line.split("=", 1)[1]))
    return commands


def test_the_spool_flush_examples_deliver_what_was_spooled(world, db_url, monkeypatch):
    commands = _flush_commands()
    assert len(commands) == 2 and all(c[0].endswith("ilog") and c[1:3] == ["spool", "flush"] for c in commands)
    timer = (EXAMPLES / "systemd" / "ilog-spool-flush.timer").read_text()
    assert "OnUnitActiveSec=1min" in timer and "WantedBy=timers.target" in timer
    for n, command in enumerate(commands, 1):
        spooled = run(["ilog", "event", "sales.invoice", "--document-no", f"INV-{n}", "--contact", "P1"],
                      env_for(db_url, ILOG_DELIVERY="spool"))
        assert spooled.returncode == 0 and "spooled as" in spooled.stderr, spooled.stderr
        flushed = run(["ilog", *command[1:]], env_for(db_url))
        assert (flushed.returncode, flushed.stdout, flushed.stderr) == (0, f"{n}\n", "")

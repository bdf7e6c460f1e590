"""`narrate status`, `narrate deploy` and `narrate serve`: jobs left alone overnight."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from narration.cli import OutRoot, app, out_option
from narration.errors import NarrationError

NIGHTLY_CRON = "0 1 * * *"  # 01:00 every night


@app.command("status")
@click.argument("out", required=False, type=OutRoot(), default="output")
@click.option("--brief", is_flag=True, help="One line per book, no chapters.")
def status(out: str, brief: bool) -> None:
    """Each book's and chapter's state under OUT (or of one book's folder), from its manifest,
    store and chapter records: no Prefect server needed. For an output URL, from this
    machine's mirror of it."""
    from narration.jobstate import book_folders, book_status, describe
    from narration.storage import is_url, mirror_root

    folders = book_folders(mirror_root(out) if is_url(out) else Path(out))
    if not folders:
        raise NarrationError(f"{out}: no narrated book here (no plan.parquet)")
    for folder in folders:
        for line in describe(book_status(folder), chapters=not brief):
            click.echo(line)


_schedule_options = [
    click.option(
        "--inbox",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("books"),
        show_default=True,
        help="The folder of books to scan.",
    ),
    out_option("Output root: a path every worker sees, or an fsspec URL (s3://bucket/books)."),
    click.option("--cron", default=NIGHTLY_CRON, show_default=True, help="When to scan."),
    click.option(
        "--stop-after",
        metavar="HH:MM",
        default="07:00",
        show_default=True,
        help="Start no new book after this time of day ('' for no limit).",
    ),
]


def schedule_options(func: Any) -> Any:
    for option in reversed(_schedule_options):
        func = option(func)
    return func


def _library_parameters(inbox: Path, out: str, stop_after: str) -> dict[str, Any]:
    from narration import config

    if not inbox.is_dir():
        raise NarrationError(f"{inbox}: no such folder to scan for books")
    if stop_after:
        _check_time(stop_after)
    settings = {
        "out_root": out if "://" in out else str(Path(out).resolve()),
        "narration_engine": config.role_engine("narration"),
        "dialogue_engine": config.role_engine("dialogue"),
    }
    return {"inbox": str(inbox.resolve()), "settings": settings, "stop_after": stop_after or None}


def _check_time(text: str) -> None:
    hour, _, minute = text.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise click.BadParameter(f"{text!r}: use HH:MM", param_hint="--stop-after")


@app.command("deploy")
@schedule_options
@click.option("--pool", default="narration", show_default=True, help="The Prefect work pool.")
@click.option(
    "--fan-out/--no-fan-out",
    default=True,
    show_default=True,
    help="Send each book's chapters to the pool as separate runs (many machines, one book).",
)
def deploy(inbox: Path, out: str, cron: str, stop_after: str, pool: str, fan_out: bool) -> None:
    """Create the nightly deployment on your Prefect server (PREFECT_API_URL), its work pool,
    and the book/chapter deployments the pool's workers run.

    \b
    Then, on every machine (all of them seeing OUT and the inbox at the same paths):
      prefect worker start --pool narration
    """
    from flows.deploy import create_deployments
    from flows.server import api_url_configured

    if not api_url_configured():
        raise NarrationError(
            "narrate deploy needs a Prefect server: start one (prefect server start) and set "
            "PREFECT_API_URL; or run the schedule here with `narrate serve`"
        )
    parameters = _library_parameters(inbox, out, stop_after)
    for line in create_deployments(pool, cron, parameters, fan_out=fan_out):
        click.echo(line)


@app.command("serve")
@schedule_options
def serve(inbox: Path, out: str, cron: str, stop_after: str) -> None:
    """Run the nightly scan on its schedule in the foreground, without a Prefect server of
    your own (a temporary one lives as long as this command). Ctrl-C stops it."""
    from flows.server import TemporaryServer, api_url_configured

    parameters = _library_parameters(inbox, out, stop_after)
    server = None
    if not api_url_configured():
        server = TemporaryServer()
        if not server.wait_ready():
            raise NarrationError(f"the Prefect server did not start: {server.log_tail()}")
        os.environ["PREFECT_API_URL"] = server.api_url
    try:
        from flows.library import narrate_library

        click.echo(f"serving narrate-library: {cron}, inbox {parameters['inbox']}")
        narrate_library.serve(name="nightly", cron=cron, parameters=parameters)
    finally:
        if server is not None:
            server.stop()

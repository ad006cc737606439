"""The `imr-desk` command line: thin click commands over the core, the store and the exporters."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from imr_desk import __version__


class Group(click.Group):
    """A group whose errors are one line on standard error, never a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("imr-desk: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence for a command-line user
            import logging

            logging.getLogger("imr_desk").debug("command failed", exc_info=True)
            message = getattr(exc, "clerk_message", None) or f"{type(exc).__name__}: {exc}"
            click.echo(f"imr-desk: error: {message}", err=True)
            sys.exit(1)


@click.group(cls=Group, invoke_without_command=True)
@click.version_option(__version__, prog_name="imr-desk")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The review database to open (default: imr-desk.db in the user's data directory).")
@click.pass_context
def cli(ctx: click.Context, db_path: Path | None) -> None:
    """IMR Desk: review IMR Final Determination Letters.

    With no command, opens the review window.
    """
    if ctx.invoked_subcommand is None:
        from imr_desk.ui.app import run  # imported late: the command line works without Qt

        sys.exit(run(db_path))


@cli.command()
@click.option("--text", "include_text", is_flag=True, help="Include the letter's text (the offsets' reference).")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def parse(include_text: bool, files: tuple[Path, ...]) -> None:
    """Parse letters (PDF or text) and print one JSON record per line.

    A file that cannot be read still gives a line, with `error`; the exit status is 1 when any
    file failed.
    """
    from imr_desk.core import parse_file

    failed = False
    for f in files:
        rec = parse_file(f, include_text=include_text)
        if rec.get("error"):
            failed = True
            click.echo(f"imr-desk: {f}: {rec['error']}", err=True)
        click.echo(json.dumps(rec, ensure_ascii=False))
    sys.exit(1 if failed else 0)


def main() -> None:
    cli(prog_name="imr-desk")


if __name__ == "__main__":
    main()

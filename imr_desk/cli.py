"""The `imr-desk` command line: thin click commands over the core, the store and the exporters."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from imr_desk import __version__

if TYPE_CHECKING:
    from imr_desk.store import Database, ImportEvent, ImportReport


class Group(click.Group):
    """A group whose errors are one line on standard error, never a traceback."""

    given: list[str] = []  # the words the command was given (make_context), to find the URLs among them

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except click.UsageError as exc:  # a wrong option or argument: one line, and where to look
            _usage_error(exc, self.given)
        except click.ClickException as exc:
            click.echo(f"imr-desk: error: {_without_secrets(exc.format_message(), self.given)}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # the reader (head, less) stopped early: not an error
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except KeyboardInterrupt:
            click.echo("imr-desk: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence for a command-line user
            from imr_desk.store.errors import known_error

            known = known_error(exc, ctx.meta.get(_OPENED, "the database"))
            if known is not None:  # a condition of the clerk's machine: what happened and what to do
                click.echo(f"imr-desk: error: {one_line(known.clerk_message)}", err=True)
                sys.exit(1)
            click.echo(f"imr-desk: internal error: {one_line(_report_bug(ctx, exc))}", err=True)
            sys.exit(1)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        self.given = list(args)
        try:  # the group's own options (--db) are read here, before `invoke`: their errors are one line too
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            _usage_error(exc, self.given)


def _usage_error(exc: click.UsageError, given: list[str]) -> NoReturn:
    where = exc.ctx.command_path if exc.ctx is not None else "imr-desk"
    click.echo(f"imr-desk: error: {_without_secrets(exc.format_message(), given)} (see: {where} --help)", err=True)
    sys.exit(exc.exit_code)


def _without_secrets(text: str, given: list[str]) -> str:
    """A message click made, without any password: click quotes a stray argument or an option's value as it
    was given, and a URL given whole is redacted whole (`redact_text` alone cannot tell where a URL whose
    password holds a space or a quote ends)."""
    from imr_desk.urls import is_server_url, redact, redact_text

    urls = [a for arg in given for a in (arg, arg.partition("=")[2]) if is_server_url(a)]
    for url in sorted(urls, key=len, reverse=True):
        text = text.replace(url, redact(url))
    return redact_text(text)


_OPENED = "imr_desk.database"  # ctx.meta: the database the command opened


def one_line(text: str) -> str:
    """A message as one line of standard error."""
    return " ".join(str(text).split())


def _report_bug(ctx: click.Context, exc: BaseException) -> str:
    """Log a bug with its traceback in the log file; returns what to print (naming the file).

    Neither says more of the error than `describe_error` does (a database error's text can quote letter
    text), and the log names the command and its options, never their values (a --db URL can hold a
    password, a search or a batch name the clerk's words)."""
    import logging

    from imr_desk.logs import describe_error, setup_logging

    what = describe_error(exc)
    try:
        path = setup_logging()
    except OSError as log_exc:  # no log folder either: say so rather than hide the bug
        return f"{what} (a bug in IMR Desk; the log could not be written: {log_exc.strerror or log_exc})"
    logging.getLogger("imr_desk.cli").error("internal error in `%s`", _command_line(ctx), exc_info=exc)
    return f"{what} (a bug in IMR Desk; the details are in {path})"


def _command_line(ctx: click.Context) -> str:
    """The command that met a bug as the log names it: `imr-desk stats --db --json`, the options without values."""
    words = [ctx.command_path]
    command: click.Command = ctx.command
    sub = ctx.invoked_subcommand
    if sub and isinstance(command, click.Group) and sub in command.commands:
        words.append(sub)
        options = {o for c in (command, command.commands[sub]) for p in c.params for o in (*p.opts, *p.secondary_opts)
                   if o.startswith("-")}
    else:
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}
    words += [a.split("=", 1)[0] for a in sys.argv[1:] if a.split("=", 1)[0] in options]
    return " ".join(words)


class DatabaseTarget(click.ParamType):
    """--db: a review database's file (a path), or a PostgreSQL server's database (a postgresql:// URL, kept as it is)."""

    name = "PATH|URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path | str:
        from imr_desk.store.engine import is_server_url

        if isinstance(value, str) and not value.strip():  # a script's empty variable: never "the current folder"
            name = param.opts[-1] if param is not None else "--db"
            self.fail(f"{name} needs a database file's path or a postgresql:// URL; nothing was done", param, ctx)
        if isinstance(value, Path) or not is_server_url(value):
            path = Path(value)
            try:
                is_folder = path.is_dir()
            except OSError:  # in a folder this user may not enter: the command that opens it says so
                is_folder = False
            if is_folder:
                self.fail(f"{value} is a folder; give the path of a database file or a postgresql:// URL", param, ctx)
            return path
        return str(value)


DB_TARGET = DatabaseTarget()


def needs_value(what: str, unset: str = "to choose letters without it") -> Any:
    """A click callback refusing an empty or blank option value ("--batch ''", a script's empty variable):
    an empty filter must never mean "every letter"; leaving the option out is how to say "no filter"."""

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise click.BadParameter(f"{param.opts[-1]} needs {what}; leave the option out {unset}. "
                                     "Nothing was done.", ctx, param)
        return value

    return check


def _output(ctx: click.Context, param: click.Parameter, value: str) -> Path:
    """-o: a name to write to; an empty or blank one (a script's empty variable) is refused, never the current folder."""
    if not value.strip():
        raise click.BadParameter("-o needs the name of the file or folder to write; nothing was exported.", ctx, param)
    if value == "-":  # made a file named "-.jsonl" in the current folder
        raise click.BadParameter("an export is written as files, with a manifest beside them, never to standard "
                                 "output; give a file or folder name. Nothing was exported.", ctx, param)
    return Path(value)


@click.group(cls=Group, invoke_without_command=True)
@click.version_option(__version__, prog_name="imr-desk")
@click.option("--db", "db_path", type=DB_TARGET, default=None,
              help="The review database to open: a file (default: imr-desk.db in the user's data directory), "
                   "or a PostgreSQL database as postgresql://user@host:port/dbname.")
@click.pass_context
def cli(ctx: click.Context, db_path: Path | str | None) -> None:
    """IMR Desk: review IMR Final Determination Letters.

    With no command, opens the review window.
    """
    from imr_desk.core.ocr import sweep_leftovers

    sweep_leftovers()  # the page images and text a killed OCR run left (the window's start too)
    if ctx.invoked_subcommand is None:
        from imr_desk.ui.app import run  # imported late: the command line works without Qt

        sys.exit(run(db_path))


@cli.command()
@click.option("--text", "include_text", is_flag=True, help="Include the letter's text (the offsets' reference).")
@click.option("--no-ocr", "no_ocr", is_flag=True,
              help="Do not read scanned pages and images through OCR (they give no text).")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def parse(include_text: bool, no_ocr: bool, files: tuple[Path, ...]) -> None:
    """Parse letters (PDF, text, or scans: PNG, JPEG, TIFF) and print one JSON record per line.

    A scanned PDF page (no text layer) or an image is read through OCR (Tesseract) unless --no-ocr.
    A file that cannot be read still gives a line, with `error`; the exit status is 1 when any
    file failed.
    """
    from imr_desk.core import parse_file

    failed = False
    for f in files:
        rec = parse_file(f, include_text=include_text, ocr=not no_ocr)
        if rec.get("error"):
            failed = True
            click.echo(f"imr-desk: {f}: {rec['error']}", err=True)
        click.echo(json.dumps(rec, ensure_ascii=False))
    sys.exit(1 if failed else 0)


# -- the review database ---------------------------------------------------------------------------
_db_option = click.option(
    "--db", "db_path", type=DB_TARGET, default=None,
    help="The review database: a file (default: imr-desk.db in the user's data directory), or a PostgreSQL "
         "database as postgresql://user@host:port/dbname (the password from ~/.pgpass or PGPASSWORD).",
)


def _open_db(ctx: click.Context, db_path: Path | str | None, create: bool = True,
             read_only: bool = False) -> Database:
    """The database named by --db (the command's or the group's), else the default one.

    `read_only`: the command only reads, so a database in a read-only place is opened read-only.
    """
    import os

    from imr_desk import paths
    from imr_desk.store import DamagedDatabase, Database

    path = db_path or (ctx.find_root().params.get("db_path") if ctx.find_root() else None)
    if path is None:
        path = paths.default_db_path()
        if not read_only:
            paths.private_dir(path.parent)
    ctx.meta[_OPENED] = path  # an error the command lets through is told about this database (`Group`)
    if isinstance(path, str):  # a server's database: the server says what the role may do
        return Database.open(path, create=create)
    if read_only and path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return Database.open(path, readonly=True)
    try:
        return Database.open(path, create=create)
    except DamagedDatabase:
        if not read_only:
            raise
        return Database.open(path, readonly=True)  # reading a damaged database spreads nothing


@cli.command("import")
@_db_option
@click.option("--batch", default=None, callback=needs_value("a name", "for the default name"),
              help="Name of the import batch (default: 'import <date time>').")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_context
def import_(ctx: click.Context, db_path: Path | str | None, batch: str | None, quiet: bool, paths: tuple[Path, ...]) -> None:
    """Import letters: PDF or text files, folders (recursively), .zip archives, JSON Lines exports.

    A letter already in the database is skipped; a file that cannot be read is reported and the
    others are imported all the same (exit status 1 when any failed).
    """
    batch = " ".join((batch or "").split()) or None
    if not any(p.exists() or p.is_symlink() for p in paths):
        missing = ", ".join(str(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        raise click.ClickException(f"nothing to import: no such file or folder ({missing}). "
                                   "Check the paths; the database was not touched.")
    from imr_desk.store import StoreError

    with _open_db(ctx, db_path) as db:
        shown_pages: list[tuple[int, int] | None] = [None]

        def progress(event: ImportEvent) -> None:
            if event.outcome == "ocr":  # a scan being read: a line each time a page is done
                if quiet or event.pages == shown_pages[0]:
                    return
                shown_pages[0] = event.pages
            if not quiet:
                extra = f": {event.message}" if event.message and event.outcome != "added" else ""
                click.echo(f"[{event.done}/{event.total}] {event.outcome:9} {event.name}{extra}", err=True)

        try:
            report = db.import_paths(list(paths), batch=batch, progress=progress)
        except StoreError as exc:  # stopped (a full disk, the server gone): what it did so far, then why
            partial = getattr(exc, "report", None)
            if partial is not None:
                _report_lines(partial)
            raise
        _report_lines(report)
        click.echo(f"{report.summary()} Batch: {report.batch}. Database: {db.where}")
    sys.exit(1 if report.failed else 0)


def _report_lines(report: ImportReport) -> None:
    """Each file an import could not read, stored with a warning, or left alone (and why), on standard error."""
    for name, reason in report.failed:
        click.echo(f"imr-desk: {name}: {reason}", err=True)
    for name, warning in report.warned:
        click.echo(f"imr-desk: {name}: stored, but {warning}", err=True)
    for entry in report.ignored:  # "path (why)"
        click.echo(f"imr-desk: ignored: {entry}", err=True)


@cli.command()
@_db_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1_000_000),  # 0 and -1 are no limits
              help="How many letters to list at most.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@click.argument("query", nargs=-1, required=True)
@click.pass_context
def search(ctx: click.Context, db_path: Path | str | None, limit: int, as_json: bool, query: tuple[str, ...]) -> None:
    """Search the letters' text, requests, rationales and case numbers (best matches first)."""
    if not " ".join(query).strip():
        raise click.UsageError("search needs words to look for; nothing was searched.")
    with _open_db(ctx, db_path, create=False, read_only=True) as db:
        hits = db.search(" ".join(query), limit=limit)
        for h in hits:
            if as_json:
                click.echo(json.dumps({"id": h.id, "name": h.name, "case_number": h.case_number,
                                       "status": h.status, "snippet": h.snippet}, ensure_ascii=False))
            else:
                click.echo(f"{h.id:>6}  {h.case_number or '-':14} {h.status:10} {h.name}\n        {h.snippet}")
        if not as_json:
            click.echo(f"{len(hits)} letter(s) found.", err=True)


@cli.command()
@_db_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option("--by-clerk", is_flag=True,
              help="Per clerk: letters reviewed, fields changed and confirmed, saves refused; today and in all.")
@click.pass_context
def stats(ctx: click.Context, db_path: Path | str | None, as_json: bool, by_clerk: bool) -> None:
    """Counts by status, outcome, decision, batch and layout, and how often the parser's values survived review.

    With --by-clerk: who reviewed how many letters today and in all, and changed and confirmed how many fields.
    """
    if by_clerk:
        from imr_desk.store import clerks

        with _open_db(ctx, db_path, create=False, read_only=True) as db:
            per_clerk = clerks.by_clerk(db)
        if as_json:
            click.echo(json.dumps(per_clerk, ensure_ascii=False, indent=2))
        else:
            for line in clerks.table(per_clerk):
                click.echo(line)
        return
    with _open_db(ctx, db_path, create=False, read_only=True) as db:
        figures = db.stats()
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    click.echo(f"Letters: {figures['letters']} ({figures['with_warnings']} with warnings)")
    for title, key in (("By status", "by_status"), ("By outcome", "by_outcome"),
                       ("Items by decision", "items_by_decision"), ("By batch", "by_batch"),
                       ("By layout", "by_layout")):
        click.echo(f"{title}:")
        for k, v in figures[key].items():
            click.echo(f"  {k:40} {v:>8}")
    acc = figures["parser_accuracy"]
    click.echo("Parser accuracy on reviewed letters (values the clerks kept):")
    if not acc:
        click.echo("  no reviewed letters yet")
    for k, v in sorted(acc.items(), key=lambda kv: kv[1]["rate"]):
        click.echo(f"  {k:40} {v['rate'] * 100:6.1f}%  ({v['kept']}/{v['total']})")


@cli.command("copy")
@click.option("--from", "source", required=True, type=DB_TARGET,
              help="The review database to copy: a .db file, or a postgresql:// URL.")
@click.option("--to", "target", required=True, type=DB_TARGET,
              help="Where to copy it: a .db file (created if need be), or a postgresql:// URL.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
def copy_(source: Path | str, target: Path | str, quiet: bool) -> None:
    """Copy a whole review database to another one, SQLite or PostgreSQL, either way round.

    Letters with their files, records, statuses, history, annotations, OCR layers, batches, team
    settings and the exports' records are copied; letters already at the target (same file) are
    skipped, so a copy that was interrupted finishes when run again (exit status 1 when any letter failed).
    """
    from imr_desk.store import Database
    from imr_desk.store.copying import CopyEvent, copy_database

    if _same_database(source, target):
        from imr_desk.store.engine import display_name

        raise click.ClickException(f"--from and --to name the same database ({display_name(source)}); "
                                   "give another --to.")
    with Database.open(source, create=False, readonly=isinstance(source, Path)) as src, \
            Database.open(target) as dst:
        def progress(event: CopyEvent) -> None:
            if not quiet or event.outcome == "failed":
                extra = f": {event.message}" if event.message else ""
                click.echo(f"[{event.done}/{event.total}] {event.outcome:13} {event.name}{extra}", err=True)

        report = copy_database(src, dst, progress=progress)
        for name, reason in report.failed:
            click.echo(f"imr-desk: {name}: {reason}", err=True)
        click.echo(f"{report.summary()} From {src.where} to {dst.where}.")
    sys.exit(1 if report.failed else 0)


def _same_database(a: Path | str, b: Path | str) -> bool:
    if isinstance(a, Path) and isinstance(b, Path):
        return a.expanduser().resolve() == b.expanduser().resolve()
    return a == b


@cli.command()
@_db_option
@click.option("--all", "force", is_flag=True, help="Re-parse every letter, not only those read by an older parser.")
@click.pass_context
def reparse(ctx: click.Context, db_path: Path | str | None, force: bool) -> None:
    """Parse letters again with this version's parser.

    Letters not yet reviewed get the new values; for the others the clerk's record is kept and
    only the parser's output is recorded.
    """
    from imr_desk.core import PARSER_VERSION

    with _open_db(ctx, db_path, create=False) as db:
        report = db.reparse(force=force)
        total = db.queue_count()
    if not (report.replaced or report.recorded or report.unchanged or report.leased or report.failed):
        # nothing was older than this parser: say so rather than a row of noughts
        if total == 0:
            click.echo("The database has no letters yet; nothing to re-parse. Import letters with `imr-desk import`.")
        else:
            every = "The one letter is" if total == 1 else f"All {total} letters are"
            click.echo(f"{every} already read by this parser version ({PARSER_VERSION}); nothing to do. "
                       f"Use --all to read {'it' if total == 1 else 'them'} again.")
        return
    click.echo(f"{len(report.replaced)} letter(s) updated, {len(report.recorded)} reviewed letter(s) kept as the "
               f"clerk left them (parser output recorded), {report.unchanged} unchanged, {len(report.leased)} open in a "
               f"window left for later, {len(report.failed)} failed.")
    for letter_id, who in report.leased:
        click.echo(f"imr-desk: letter {letter_id}: left as it was: {who} has it open for editing; "
                   "re-parse again once it is closed", err=True)
    for letter_id, reason in report.failed:
        click.echo(f"imr-desk: letter {letter_id}: {reason}", err=True)
    sys.exit(1 if report.failed else 0)


@cli.command("ocr")
@_db_option
@click.option("--all", "everything", is_flag=True,
              help="Read every scan again (a newer engine), not only letters never read by OCR.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
@click.pass_context
def ocr_(ctx: click.Context, db_path: Path | str | None, everything: bool, quiet: bool) -> None:
    """Read stored scans by OCR: letters imported before OCR was installed, or all of them again (--all).

    Each scan's text layer is stored beside its original file; letters no clerk has touched get the
    values read, for the others the clerk's record is kept and the parser's output recorded.
    """
    from imr_desk.core import ocr as ocr_engine
    from imr_desk.store.ocr_layers import OcrProgress
    from imr_desk.store.reocr import ocr_stored

    if not ocr_engine.available():
        raise click.ClickException(ocr_engine.MISSING_ENGINE)
    shown: list[tuple[str, int, int] | None] = [None]

    def progress(name: str, n: int, total: int, state: OcrProgress) -> None:
        if quiet or shown[0] == (name, state.done, state.total):
            return
        shown[0] = (name, state.done, state.total)
        click.echo(f"[{n}/{total}] {name}: page {state.done} of {state.total} read", err=True)

    with _open_db(ctx, db_path, create=False) as db:
        report = ocr_stored(db, everything=everything, progress=progress)
    per_page = f" ({report.seconds / report.pages:.1f} s a page)" if report.pages else ""
    click.echo(f"{len(report.read)} scanned letter(s) read by OCR, {report.pages} page(s) in "
               f"{report.seconds:.0f} s{per_page}; {report.skipped} with nothing to read, "
               f"{len(report.failed)} failed.")
    for letter_id, reason in report.failed:
        click.echo(f"imr-desk: letter {letter_id}: {reason}", err=True)
    sys.exit(1 if report.failed else 0)


@cli.command()
@_db_option
@click.pass_context
def check(ctx: click.Context, db_path: Path | str | None) -> None:
    """Check a review database for damage: SQLite's full integrity check, its foreign keys, and that its
    tables are those of its schema version. Reads only; exit status 1 when anything is wrong.

    A damaged database is not written into by IMR Desk (import, review, re-parse refuse it); recover
    from your last export into a new database.
    """
    from imr_desk import paths
    from imr_desk.store import DamagedDatabase
    from imr_desk.store.integrity import damaged_message, full_check

    path = db_path or ctx.find_root().params.get("db_path") or paths.default_db_path()
    if isinstance(path, str):
        raise click.ClickException("`imr-desk check` checks SQLite files; a database on a server is checked by the "
                                   "server (ask whoever runs it, e.g. pg_amcheck)")
    try:
        Path(path).stat()
    except PermissionError:
        raise click.ClickException(f"{path} cannot be read here (permissions): this user may not open the folder "
                                   "holding it. Nothing was checked; run the check as a user who may.") from None
    except OSError:
        raise click.ClickException(f"there is no database at {path}") from None
    if not Path(path).is_file():
        from imr_desk.store.database import not_a_file

        raise click.ClickException(not_a_file(Path(path)) or f"there is no database at {path}")
    problems, facts = full_check(Path(path))
    if problems:  # each problem on its own line (as import lists the files it could not read), then the error
        for problem in problems:
            click.echo(f"imr-desk: {path}: {problem}", err=True)
        raise DamagedDatabase(damaged_message(None, Path(path), problems, listed=True))
    click.echo(f"{path}: no damage found (integrity check ok, schema {facts.get('schema')}, "
               f"{facts.get('letters', 0)} letter(s)).")


# -- export (imr_desk/export) -----------------------------------------------------------------------
@cli.command()
@_db_option
@click.option("--status", "statuses", multiple=True, default=("reviewed",), show_default=True,
              type=click.Choice(["to review", "in review", "reviewed", "postponed"]),
              help="Letters with this status (repeat for several).")
@click.option("--batch", default=None, callback=needs_value("a name"), help="Only letters of this import batch.")
@click.option("--since", default=None, metavar="DATE", callback=needs_value("a date"),
              help="Reviewed on or after DATE (YYYY-MM-DD).")
@click.option("--until", default=None, metavar="DATE", callback=needs_value("a date"),
              help="Reviewed on or before DATE (YYYY-MM-DD).")
@click.option("--reviewer", default=None, callback=needs_value("a name"), help="Only letters marked reviewed by this user.")
@click.option("--decision", default=None, type=click.Choice(["upheld", "overturned"]),
              help="Only letters with at least one item so decided.")
@click.option("--id", "ids", multiple=True, type=click.IntRange(1, 2**63 - 1), metavar="ID",  # a letter's id, no more
              help="Only these letters (repeat for several).")
@click.option("--only-new", is_flag=True, help="Only letters not exported since their last review.")
@click.option("--force", is_flag=True, help="Replace the destination if it exists.")
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "jsonl", "xlsx", "sqlite"]),
              help="csv: a folder of letters.csv, items.csv, annotations.csv; jsonl, xlsx, sqlite: one file.")
@click.option("-o", "--output", required=True, type=click.Path(), callback=lambda ctx, param, value: _output(ctx, param, value),
              help="Where to write: a folder name for csv, a file name for the others.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on standard error.")
@click.pass_context
def export(ctx: click.Context, db_path: Path | str | None, statuses: tuple[str, ...], batch: str | None,
           since: str | None, until: str | None, reviewer: str | None, decision: str | None,
           ids: tuple[int, ...], only_new: bool, force: bool, fmt: str, output: Path, quiet: bool) -> None:
    """Export a set of letters (reviewed ones by default) as CSV, JSON Lines, Excel or SQLite.

    Every export writes a manifest beside its files (manifest.json in the CSV folder, NAME.EXT.manifest.json
    beside a file) and is recorded in the database, so `--only-new` leaves out letters exported since their last review.
    Nothing is written at the destination unless the whole export succeeds.
    """
    from imr_desk.export import ExportSet, export_set

    selection = ExportSet(status=list(statuses), batch=batch, since=since, until=until, reviewer=reviewer,
                          decision=decision, ids=list(ids) or None, only_new=only_new)
    shown = [-1]

    def progress(done: int, total: int) -> None:
        percent = done * 100 // total if total else 100
        if not quiet and (percent >= shown[0] + 10 or done == total):
            shown[0] = percent
            click.echo(f"exporting: {done}/{total} letters", err=True)

    with _open_db(ctx, db_path, create=False) as db:
        result = export_set(db, fmt, output, selection, force=force, progress=progress)
    click.echo(f"{result.summary()} Manifest: {result.manifest_path}")


def main() -> None:
    from imr_desk import paths

    paths.use_private_umask()  # everything this process writes is its owner's only
    try:
        from imr_desk.logs import setup_logging

        setup_logging()  # warnings (a line an import could not read) go to the log file, never onto the terminal
    except OSError:  # no log folder to be had (a read-only home): log nowhere rather than not run
        import logging

        logging.getLogger("imr_desk").addHandler(logging.NullHandler())
    cli(prog_name="imr-desk")


if __name__ == "__main__":
    main()

"""Nothing secret or private written out: server URLs redacted, database errors' texts kept out of logs and
messages, a database through a symbolic link refused, database files their owner's only; and the server URL
messages that name the real cause (SSL, an unknown parameter, a bad port, a statement timeout).

The URL tests read each URL with libpq itself (psycopg's `conninfo_to_dict`, i.e. PQconninfoParse) to
show that what IMR Desk connects to is what it shows; the server tests run on the real test cluster.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from imr_desk.logs import PrivateFormatter, describe_error
from imr_desk.store import Database, NotWritable, ServerLoginRefused, StoreError
from imr_desk.store.errors import BadServerUrl, ServerCancelled, SslUnavailable
from imr_desk.urls import libpq_url, parse, redact, redact_text
from tests.pgserver import PASSWORD, PASSWORD_ROLE, PgCluster

from .conftest import SEEDS

PASSWORDS = ["p@ss", "p:ss", "p/ss", "p?ss", "p#ss", "a@b:c/d?e#f%", "@:/?#", "x@host.example:99/evil?sslmode=disable"]
OPTIONS = "?sslmode=prefer&application_name=clerk%20desk&options=-c%20statement_timeout%3D5000"


def _urls(password: str) -> list[str]:
    """The same login written percent-encoded and as it is, with and without query options."""
    encoded = quote(password, safe="")
    return [f"postgresql://owner:{pw}@db.example:5433/imr{q}" for pw in (encoded, password) for q in ("", OPTIONS)]


@pytest.mark.parametrize("password", PASSWORDS)
def test_a_password_with_at_colon_slash_question_hash_is_read_and_hidden_alike(password: str) -> None:
    for url in _urls(password):
        parts = parse(url)
        assert (parts.user, parts.password, parts.dbname) == ("owner", password, "imr"), url
        assert parts.hosts() == [("db.example", "5433")], url
        # libpq reads the URL IMR Desk connects with as IMR Desk reads it: same host, same password
        seen = conninfo_to_dict(libpq_url(url))
        assert (seen["user"], seen["password"], seen["host"], seen["port"], seen["dbname"]) == \
            ("owner", password, "db.example", "5433", "imr"), url
        shown = redact(url)
        assert shown.startswith("postgresql://owner@db.example:5433/imr"), shown
        for secret in (password, quote(password, safe=""), "p%40ss"):
            if len(secret) > 2:
                assert secret not in shown, (url, shown)
        assert shown.endswith(OPTIONS) == url.endswith(OPTIONS)  # the options are kept, they say how it connects
        assert redact(shown) == shown  # what is kept (recent list) reads back the same


def test_password_parameters_are_hidden_and_other_parameters_kept() -> None:
    url = "postgresql://owner@h/imr?password=Hidden1&sslmode=require&sslpassword=Hidden2&connect_timeout=3"
    assert redact(url) == "postgresql://owner@h/imr?sslmode=require&connect_timeout=3"
    assert redact("/home/clerk/review.db") == "/home/clerk/review.db"


def test_an_at_in_a_parameter_is_the_parameters_and_libpq_agrees() -> None:
    for url in ("postgresql://db.example/imr?password=x@Hidden9",
                "postgresql://owner:p@ss?w@db.example/imr?application_name=desk%403&password=x@Hidden9"):
        parts = parse(url)
        seen = conninfo_to_dict(libpq_url(url))
        assert (seen["host"], seen["dbname"], seen["password"]) == ("db.example", "imr", "x@Hidden9"), url
        assert (parts.hosts()[0][0], parts.dbname, parts.password) == ("db.example", "imr", "x@Hidden9"), url
        assert "Hidden9" not in redact(url) and "p@ss" not in redact(url)
    assert redact("postgresql://owner:p@ss?w@db.example/imr?application_name=desk%403&password=x@Hidden9") == \
        "postgresql://owner@db.example/imr?application_name=desk%403"
    # an @ left unencoded in another parameter ends the userinfo there: wrong, but it hides more, never less
    assert redact("postgresql://owner:Hidden9@db.example/imr?application_name=desk@3") == "postgresql://owner@3"


def test_every_url_in_a_text_is_redacted() -> None:
    line = ("internal error in stats --db postgresql://owner:Sekret-1@db:5432/imr?options=-c%20statement_timeout%3D1 "
            "and copy --to postgres://x:Sekret-2@other/db, done")
    shown = redact_text(line)
    assert "Sekret" not in shown
    assert "postgresql://owner@db:5432/imr?options=-c%20statement_timeout%3D1" in shown
    assert "postgres://x@other/db," in shown


def test_a_url_that_cannot_be_used_is_refused_naming_why(tmp_path: Path) -> None:
    with pytest.raises(BadServerUrl, match="“99999”.*not a port number") as bad:
        Database.open("postgresql://owner:Sekret@127.0.0.1:99999/imr")
    assert "5432 when left out" in bad.value.clerk_message and "Sekret" not in bad.value.clerk_message
    assert "127.0.0.1:5432" not in bad.value.clerk_message
    with pytest.raises(BadServerUrl, match="parameter “sslmod”"):
        Database.open("postgresql://owner:Sekret@127.0.0.1/imr?sslmod=require")
    with pytest.raises(BadServerUrl, match="libpq cannot read it .*URI query parameter: \"sslmode\"") as bad:
        Database.open("postgresql://owner:Sekret@127.0.0.1/imr?sslmode")
    assert "Sekret" not in bad.value.clerk_message
    with pytest.raises(StoreError, match="“postgresq://…” is not a database") as misspelt:
        Database.open("postgresq://owner:Sekret@127.0.0.1/imr")
    assert "Sekret" not in misspelt.value.clerk_message and not list(tmp_path.iterdir())


# -- on the real server ------------------------------------------------------------------------------------
@pytest.fixture
def odd_password(pg_cluster: PgCluster):
    """The password role's password changed, for one test, to one holding @ : / ? # (put back after)."""
    secret = "Odd@pass:w/rd?x#y"
    pg_cluster.admin(f"ALTER ROLE {PASSWORD_ROLE} PASSWORD '{secret}'")
    yield secret
    pg_cluster.admin(f"ALTER ROLE {PASSWORD_ROLE} PASSWORD '{PASSWORD}'")


def _login_url(cluster: PgCluster, dbname: str, password: str, query: str = "") -> str:
    return f"postgresql://{PASSWORD_ROLE}:{password}@{cluster.host}:{cluster.port}/{dbname}{query}"


def test_the_server_takes_the_odd_password_written_either_way(pg_cluster: PgCluster, pg_url: str,
                                                              odd_password: str) -> None:
    dbname = parse(pg_url).dbname or ""
    for pw in (odd_password, quote(odd_password, safe="")):
        with Database.open(_login_url(pg_cluster, dbname, pw)) as db:
            assert db.user == PASSWORD_ROLE
            assert odd_password not in db.where and "rd?x#y" not in db.where
    # a wrong one: the message names the real host, and no part of the password
    with pytest.raises(ServerLoginRefused) as refused:
        Database.open(_login_url(pg_cluster, dbname, "Wrong@pass:w/rd?x#y"))
    assert f"{pg_cluster.host}:{pg_cluster.port}" in refused.value.clerk_message
    assert "pass:w" not in refused.value.clerk_message and "rd?x#y" not in refused.value.clerk_message


def test_sslmode_require_against_a_server_without_ssl_names_ssl(pg_cluster: PgCluster, pg_url: str) -> None:
    with pytest.raises(SslUnavailable) as no_ssl:
        Database.open(pg_url + "?sslmode=require")
    assert "does not offer encrypted (SSL) connections" in no_ssl.value.clerk_message
    assert "sslmode=require" in no_ssl.value.clerk_message and "password" not in no_ssl.value.clerk_message
    with pytest.raises(SslUnavailable):
        Database.open(pg_url + "?ssl=true")  # libpq's other spelling of sslmode=require
    with Database.open(pg_url + "?sslmode=prefer") as db:  # SSL if there is some: works without
        assert db.queue_count() == 0


@pytest.mark.parametrize(("query", "reason"), [
    ("sslmode=bogus", 'invalid sslmode value: "bogus"'),
    ("keepalives=x", 'invalid integer value "x" for connection option "keepalives"'),
    ("options=-c%20bogus%3D1", 'unrecognized configuration parameter "bogus"'),
    ("target_session_attrs=read-only", "session is not read-only"),
    ("require_auth=md5", 'authentication method requirement "md5" failed'),
])
def test_a_parameters_value_the_server_refuses_is_named_not_called_a_wrong_password(pg_cluster: PgCluster,
                                                                                   query: str, reason: str) -> None:
    url = pg_cluster.url(user=PASSWORD_ROLE, password=PASSWORD) + f"?{query}"  # the right password
    with pytest.raises(BadServerUrl) as info:
        Database.open(url)
    assert reason in info.value.clerk_message and "did not accept the connection" in info.value.clerk_message
    assert "wrong password" not in info.value.clerk_message and PASSWORD not in info.value.clerk_message
    with pytest.raises(ServerLoginRefused):  # a wrong password is still called one
        Database.open(pg_cluster.url(user=PASSWORD_ROLE, password="wrong") + "?connect_timeout=10")


def test_an_unknown_parameter_and_a_bad_port_on_the_command_line(pg_url: str) -> None:
    for url, said in ((pg_url + "?colour=blue", "parameter “colour”"),
                      (pg_url.replace(str(parse(pg_url).hosts()[0][1]), "99999"), "port “99999”")):
        run = subprocess.run([sys.executable, "-m", "imr_desk", "stats", "--db", url], capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 1
        assert run.stderr.startswith("imr-desk: error: ") and said in run.stderr, run.stderr
        assert "password" not in run.stderr and ":5432" not in run.stderr


def test_a_url_given_where_no_url_goes_is_quoted_without_its_password() -> None:
    run = subprocess.run([sys.executable, "-m", "imr_desk", "stats", "postgresql://owner:Sekret-7@db/imr"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "unexpected extra argument (postgresql://owner@db/imr)" in run.stderr, run.stderr
    assert "Sekret-7" not in run.stderr


@pytest.mark.parametrize("password", ["Sekr et-7", "Sekr'et-7", 'Sekr"et-7', "Sekr<et>-7", "Sekr@ w/rd?#%é et-7"])
def test_a_stray_url_whose_password_holds_a_space_or_a_quote_is_hidden_whole(password: str) -> None:
    from click.testing import CliRunner

    from imr_desk.cli import cli

    url = f"postgresql://owner:{password}@db.example/imr"
    for args in (["stats", url], [url], ["--db", url, "stats", "--db=" + url, "extra", url]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2 and "postgresql://owner@db.example/imr" in result.stderr, result.stderr
        assert "Sekr" not in result.stderr and "et-7" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def letters_locked(pg_url: str):
    """Another session holds the letters table locked (so any statement on it waits), as long as the test."""
    with Database.open(pg_url) as db:
        db.import_paths(SEEDS[:1])
    other = psycopg.connect(pg_url, autocommit=True)
    other.execute("BEGIN")
    other.execute("LOCK TABLE letters IN ACCESS EXCLUSIVE MODE")
    yield
    other.execute("ROLLBACK")
    other.close()


def test_a_statement_timeout_is_a_known_error_not_a_bug(pg_cluster: PgCluster, pg_url: str, odd_password: str,
                                                         letters_locked: None, imr_home: Path) -> None:
    dbname = parse(pg_url).dbname or ""
    with Database.open(pg_url) as db:
        db.conn.execute("SET statement_timeout = 50")
        with pytest.raises(ServerCancelled) as cancelled:
            db.queue_count()
    assert "statement_timeout" in cancelled.value.clerk_message
    url = _login_url(pg_cluster, dbname, odd_password, "?options=-c%20statement_timeout%3D200")
    run = subprocess.run([sys.executable, "-m", "imr_desk", "stats", "--db", url], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 1 and "internal error" not in run.stderr, run.stderr
    assert "cancelled it" in run.stderr and "remove statement_timeout from the URL's options" in run.stderr
    log = imr_home / "logs" / "imr-desk.log"
    for text in (run.stdout, run.stderr, log.read_text(encoding="utf-8") if log.exists() else ""):
        assert "Odd@pass" not in text and "rd?x#y" not in text and quote(odd_password, safe="") not in text


# -- database errors' texts ------------------------------------------------------------------------------------
def _record(exc: BaseException, *args: object) -> logging.LogRecord:
    try:
        raise RuntimeError("while copying") from exc
    except RuntimeError as outer:
        return logging.LogRecord("imr_desk.t", logging.ERROR, __file__, 1, "failed: %s" + " %s" * len(args), (exc, *args),
                                 (type(outer), outer, outer.__traceback__))


def test_a_psycopg_error_quoting_a_row_is_logged_by_class_and_code(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (name text UNIQUE)")
        name = "Jane " + "Patient-Doe"  # not in the traceback's source lines as one word
        conn.execute("INSERT INTO t VALUES (%s)", (name,))
        with pytest.raises(psycopg.errors.UniqueViolation) as info:
            conn.execute("INSERT INTO t VALUES (%s)", (name,))
    assert "Jane Patient-Doe" in str(info.value)  # what the server said: DETAIL quotes the row
    line = PrivateFormatter("%(message)s").format(_record(info.value, pg_url + "?password=Sekret"))
    assert "Patient-Doe" not in line and "UniqueViolation (SQLSTATE 23505)" in line
    assert "RuntimeError: while copying" in line  # the traceback is still there
    assert describe_error(info.value) == "UniqueViolation (SQLSTATE 23505)"
    as_repr = logging.LogRecord("imr_desk.t", logging.WARNING, __file__, 1, "failed: %r", (info.value,), None)
    assert "Patient-Doe" not in PrivateFormatter("%(message)s").format(as_repr)


def _not_utf8_source(tmp_path: Path) -> Path:
    """Two letters; letter 1's text holds bytes that are not UTF-8, after some private words."""
    source = tmp_path / "source.db"
    with Database.open(source) as db:
        db.import_paths(SEEDS[:2])
    raw = sqlite3.connect(source)
    secret = "Claimant Janet Example-Private has lumbar pain"
    raw.execute("UPDATE contents SET text = CAST(? AS TEXT) WHERE letter_id = 1",
                (secret.encode() + b"\xff\xfe" + b" more letter text" * 5,))
    raw.commit()
    raw.close()
    return source


NOT_UTF8 = "holds a text that is not UTF-8"


def test_copy_from_a_damaged_source_says_no_letter_text(tmp_path: Path, imr_home: Path) -> None:
    source = _not_utf8_source(tmp_path)
    run = subprocess.run([sys.executable, "-m", "imr_desk", "copy", "--from", str(source), "--to",
                          str(tmp_path / "target.db")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "1 letter(s) copied" in run.stdout and "1 failed" in run.stdout
    assert f"letter 1 (000_ba1ac5b94717b163.txt): {source} {NOT_UTF8}" in run.stderr, run.stderr
    log = (imr_home / "logs" / "imr-desk.log").read_text(encoding="utf-8")
    for text in (run.stdout, run.stderr, log):
        assert "Janet" not in text and "lumbar" not in text


def test_search_and_export_of_a_text_that_is_not_utf8_is_a_known_error_not_a_bug(tmp_path: Path,
                                                                                 imr_home: Path) -> None:
    """They said "internal error: OperationalError... (a bug in IMR Desk)"."""
    from click.testing import CliRunner

    from imr_desk.cli import cli

    source = _not_utf8_source(tmp_path)
    for args in (["search", "lumbar"], ["export", "--status", "to review", "--format", "jsonl", "-o",
                                        str(tmp_path / "out.jsonl")]):
        result = CliRunner().invoke(cli, ["--db", str(source), *args])
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"imr-desk: error: {source} {NOT_UTF8}"), result.stderr
        assert "internal error" not in result.stderr and "Janet" not in result.output
    assert not (tmp_path / "out.jsonl").exists()


# -- files: no database through a link, and database files their owner's only ---------------------------------
def _mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


def test_a_database_named_by_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    dangling = tmp_path / "link.db"
    dangling.symlink_to(tmp_path / "elsewhere" / "..." / "nowhere.db")
    with pytest.raises(NotWritable, match="is a symbolic link to .*nowhere.db, which does not exist"):
        Database.open(dangling)
    real = tmp_path / "real.db"
    Database.open(real).close()
    linked = tmp_path / "to-real.db"
    linked.symlink_to(real)
    run = subprocess.run([sys.executable, "-m", "imr_desk", "import", "--db", str(linked), str(SEEDS[0])],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.startswith(f"imr-desk: error: {linked} is a symbolic link to {real}.")
    assert f"--db {real}" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    run = subprocess.run([sys.executable, "-m", "imr_desk", "stats", "--db", str(dangling)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 1 and "symbolic link" in run.stderr
    assert not (tmp_path / "elsewhere").exists()  # nothing was made where the link points


def test_an_existing_world_readable_database_and_its_side_files_become_the_owners(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Database.open(path) as db:
        db.import_paths(SEEDS[:1])
    for p in tmp_path.glob("old.db*"):
        p.chmod(0o644)  # made by an older IMR Desk, or copied in with a careless umask
    old = os.umask(0o022)
    try:
        with Database.open(path) as db:
            db.import_paths(SEEDS[1:2])
            sides = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
            assert all(p.exists() for p in sides)
            assert {_mode(p) for p in [path, *sides]} == {0o600}
    finally:
        os.umask(old)


def test_the_settings_the_log_and_the_staging_notes_are_the_owners_only(qapp, tmp_path: Path, imr_home: Path) -> None:
    from imr_desk.export.safety import Staging
    from imr_desk.ui.settings import Settings

    old = os.umask(0o022)
    try:
        (imr_home / "config").mkdir(mode=0o755)
        (imr_home / "config" / "imr-desk.ini").write_text("[clerk]\nname=dana\n")  # an older version's, 0644
        settings = Settings()
        assert settings.clerk_name() == "dana"
        settings.add_recent_database("postgresql://owner:Sekret@h/imr")
        settings.sync()
        assert _mode(settings.path) == 0o600 and _mode(settings.path.parent) == 0o700
        assert "Sekret" not in settings.path.read_text()
        from imr_desk.logs import log_path, setup_logging

        log_path().parent.mkdir(parents=True)
        log_path().write_text("an older version's log\n")
        log_path().chmod(0o644)
        assert setup_logging() == log_path() and _mode(log_path()) == 0o600
        seen: list[int] = []

        def look() -> None:
            seen.extend(_mode(p) for p in (imr_home / "data" / "staging").glob("*.json"))

        with Staging(tmp_path / "out.csv"):
            thread = threading.Thread(target=look)
            thread.start()
            thread.join()
        assert seen == [0o600]
    finally:
        os.umask(old)

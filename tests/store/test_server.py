"""Team mode: the review database on a real PostgreSQL server (the throwaway test cluster), many clerks at once.

No mocks: several processes and connections work on one server database, a backend is terminated in
the middle of a save, the server is named with a closed port and a wrong password.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from imr_desk.store import (
    ConnectionLost,
    Database,
    LetterLeased,
    NewerDatabase,
    NoSuchServerDatabase,
    NotADatabase,
    NotWritable,
    ServerLoginRefused,
    ServerUnreachable,
    StoreError,
    VersionConflict,
)
from imr_desk.store import schema as schema_mod
from imr_desk.store.engine import close_pools, to_pg
from tests.pgserver import LIMITED_ROLE, PASSWORD, PASSWORD_ROLE, PgCluster, free_port

from .conftest import REAL, SEEDS, assert_sound


def test_the_common_sql_is_translated_outside_quotes_only() -> None:
    assert to_pg("SELECT ? , :name FROM t WHERE a LIKE '%?:x' AND b = x::int") == \
        "SELECT %s , %(name)s FROM t WHERE a LIKE '%%?:x' AND b = x::int"
    assert to_pg('SELECT "odd?col" FROM t WHERE c % 2 = ?') == 'SELECT "odd?col" FROM t WHERE c %% 2 = %s'


_IMPORT = """
import json, sys
from imr_desk.store import Database
db = Database.open(sys.argv[1], user=sys.argv[2])
report = db.import_paths(sys.argv[3:], batch="shared")
print(json.dumps({"added": report.added_ids, "duplicates": len(report.duplicates), "failed": report.failed}))
"""


def test_four_processes_importing_overlapping_sets_store_every_letter_once(pg_url: str) -> None:
    files = [str(p) for p in [*REAL[:8], *SEEDS]]
    Database.open(pg_url).close()  # set up once, so the four race on the letters (the race to set up is below)
    sets = [files[i::2] + files[:4] for i in range(2)] * 2  # every letter in two or more of the four sets
    procs = [subprocess.Popen([sys.executable, "-c", _IMPORT, pg_url, f"clerk{n}", *s], stdout=subprocess.PIPE,
                              text=True) for n, s in enumerate(sets)]
    import json

    results = [json.loads(p.communicate(timeout=180)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert not any(r["failed"] for r in results)
    added = [i for r in results for i in r["added"]]
    assert len(added) == len(set(added)) == len(files)  # each letter added by exactly one process
    assert sum(r["duplicates"] for r in results) == sum(map(len, sets)) - len(files)
    with Database.open(pg_url) as db:
        assert db.queue_count() == len(files) and db.batches() == ["shared"]
        assert_sound(db)
        shas = [r[0] for r in db.conn.execute("SELECT sha256 FROM letters").fetchall()]
        assert len(shas) == len(set(shas))


def test_two_clerks_saving_one_letter_at_once_one_is_refused_never_a_lost_update(pg_url: str) -> None:
    with Database.open(pg_url, user="setup") as db:
        letter_id = db.import_paths([REAL[0]]).added_ids[0]
        version = db.letter(letter_id).version
    clerks = [Database.open(pg_url, user=name) for name in ("alice", "bob")]
    start = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def save(db: Database) -> None:
        record = db.letter(letter_id).record
        record["summary"] = f"written by {db.user}"
        start.wait()
        try:
            outcome[db.user] = db.save_record(letter_id, record, version)
        except VersionConflict as exc:
            outcome[db.user] = exc

    threads = [threading.Thread(target=save, args=(c,)) for c in clerks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for c in clerks:
        c.close()
    saved = [who for who, v in outcome.items() if v == version + 1]
    refused = [who for who, v in outcome.items() if isinstance(v, VersionConflict)]
    assert len(saved) == 1 and len(refused) == 1, outcome
    with Database.open(pg_url) as db:
        letter = db.letter(letter_id)
        assert letter.version == version + 1 and letter.record["summary"] == f"written by {saved[0]}"
        rejected = [h for h in db.history(letter_id) if h.path == "*rejected"]
        assert [h.who for h in rejected] == refused and rejected[0].new["summary"] == f"written by {refused[0]}"


def test_two_clerks_asking_for_one_letter_at_once_only_one_gets_it(pg_url: str) -> None:
    with Database.open(pg_url) as db:
        letter_id = db.import_paths([REAL[0]]).added_ids[0]
    for attempt in range(3):
        clerks = [Database.open(pg_url, user=name) for name in ("alice", "bob")]
        start = threading.Barrier(2)
        got: dict[str, object] = {}

        def take(db: Database, n: int = attempt, start: threading.Barrier = start,
                 got: dict[str, object] = got) -> None:
            start.wait()
            try:
                db.acquire_lease(letter_id, f"{db.user}@elsewhere:{n}:w")
                got[db.user] = True
            except LetterLeased as exc:
                got[db.user] = exc

        threads = [threading.Thread(target=take, args=(c,)) for c in clerks]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(type(v).__name__ for v in got.values()) == ["LetterLeased", "bool"], got
        winner = next(who for who, v in got.items() if v is True)
        assert clerks[0].lease_holder(letter_id) == winner
        for c in clerks:
            c.conn.execute("DELETE FROM leases")
            c.close()


def test_a_connection_killed_mid_save_loses_nothing_and_the_retry_lands(pg_url: str, pg_cluster: PgCluster) -> None:
    db = Database.open(pg_url, user="alice")
    letter_id = db.import_paths([REAL[0]]).added_ids[0]
    letter = db.letter(letter_id)
    history_before = len(db.history(letter_id))
    record = letter.record
    record["summary"] = "typed before the network dropped"
    with pytest.raises(ConnectionLost, match="nothing was half-written") as lost:
        with db.transaction("save the letter"):
            db.save_record(letter_id, record, letter.version)  # written, not yet committed
            pg_cluster.admin(f"SELECT pg_terminate_backend({db.conn.backend_pid})")  # type: ignore[attr-defined]
    assert "tries again" in lost.value.clerk_message
    with Database.open(pg_url) as other:  # nothing of the save reached the database
        assert other.letter(letter_id).version == letter.version
        assert other.letter(letter_id).record["summary"] != record["summary"]
        assert len(other.history(letter_id)) == history_before
    # the writer's retry: the same write again, on the same store, which takes a fresh connection
    assert db.save_record(letter_id, record, letter.version) == letter.version + 1
    assert db.letter(letter_id).record["summary"] == record["summary"]
    db.close()


def test_an_unreachable_server_and_a_refused_login_are_clear_and_change_nothing(pg_cluster: PgCluster,
                                                                                pg_url: str) -> None:
    port = free_port()
    with pytest.raises(ServerUnreachable, match=f"Cannot reach the database server at 127.0.0.1:{port}"):
        Database.open(f"postgresql://clerk@127.0.0.1:{port}/imr")
    name = pg_url.rsplit("/", 1)[1]
    with pytest.raises(ServerLoginRefused, match=f"refused the login as {PASSWORD_ROLE}") as refused:
        Database.open(pg_cluster.url(name, user=PASSWORD_ROLE, password="Secret-but-wrong-42"))
    assert "Secret-but-wrong-42" not in refused.value.clerk_message  # the password is never shown
    with pytest.raises(ServerLoginRefused):
        Database.open(pg_cluster.url(name, user="nobody_here"))
    with pytest.raises(NoSuchServerDatabase, match="no database “no_such_db”"):
        Database.open(pg_cluster.url("no_such_db"))
    with Database.open(pg_cluster.url(name, user=PASSWORD_ROLE, password=PASSWORD)) as db:  # the right one works
        assert db.queue_count() == 0
        assert "right-password" not in db.where


def test_a_role_without_write_rights_is_told_the_grant_it_needs(pg_cluster: PgCluster, pg_url: str) -> None:
    name = pg_url.rsplit("/", 1)[1]
    with Database.open(pg_url) as db:
        db.import_paths([REAL[0]])
    pg_cluster.admin(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {LIMITED_ROLE}", dbname=name)
    reader_url = pg_cluster.url(name, user=LIMITED_ROLE)
    with Database.open(reader_url, user="carol") as reader:
        assert reader.queue_count() == 1  # reading is allowed
        with pytest.raises(NotWritable, match=f"role {LIMITED_ROLE} may not.*GRANT .* TO {LIMITED_ROLE}"):
            reader.set_status(reader.letter_ids()[0], "postponed", "later")
    close_pools(reader_url)


def test_a_newer_server_schema_and_a_database_of_other_tables_are_refused(pg_cluster: PgCluster, pg_url: str) -> None:
    Database.open(pg_url).close()
    name = pg_url.rsplit("/", 1)[1]
    pg_cluster.admin("UPDATE meta SET value = '99' WHERE key = 'schema_version'", dbname=name)
    with pytest.raises(NewerDatabase, match="newer IMR Desk .*schema 99"):
        Database.open(pg_url)
    out = subprocess.run([sys.executable, "-m", "imr_desk", "stats", "--db", pg_url], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "newer IMR Desk" in out.stderr
    other = pg_cluster.create_database()
    try:
        pg_cluster.admin("CREATE TABLE invoices (id int)", dbname=other)
        with pytest.raises(NotADatabase, match="holds other tables"):
            Database.open(pg_cluster.url(other))
        assert _tables(pg_cluster, other) == ["invoices"]  # left as it was
    finally:
        close_pools(pg_cluster.url(other))
        pg_cluster.drop_database(other)


def _tables(cluster: PgCluster, dbname: str) -> list[str]:
    with psycopg.connect(cluster.url(dbname)) as conn:
        return [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE "
                                           "table_schema = 'public' ORDER BY 1")]


def test_an_older_server_database_is_upgraded_in_place(pg_url: str) -> None:
    from imr_desk.store.pg import PgConnection

    conn = PgConnection(pg_url)
    assert schema_mod.migrate(conn, upto=2) == [1, 2]  # an IMR Desk of schema 2 set it up
    conn.close()
    with Database.open(pg_url, user="bob") as db:
        assert db.schema_version == schema_mod.SCHEMA_VERSION
        db.import_paths([REAL[0]])
        assert db.conn.execute("SELECT count(*) FROM ocr_layers").fetchone()[0] == 0


_OPEN = """
import sys
from imr_desk.store import Database
with Database.open(sys.argv[1]) as db:
    print(db.schema_version)
"""


def test_clerks_starting_on_a_new_database_at_once_migrate_it_once_under_the_lock(pg_url: str) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN, pg_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [o[1][-500:] for o in outs]
    assert [o[0].strip() for o in outs] == [str(schema_mod.SCHEMA_VERSION)] * 4
    with Database.open(pg_url) as db:
        assert db.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == \
            str(schema_mod.SCHEMA_VERSION)


def test_a_bug_in_sql_stays_a_bug(pg_url: str) -> None:
    from imr_desk.store.errors import known_error

    with Database.open(pg_url) as db:
        with pytest.raises(psycopg.errors.SyntaxError) as info:
            db.conn.execute("SELEKT 1")
        assert known_error(info.value) is None
        with pytest.raises(psycopg.errors.UndefinedTable):
            db._read("SELECT * FROM no_such_table")
        assert db.queue_count() == 0  # the connection is still usable after a failed statement


def test_a_server_url_opens_from_the_command_line(pg_url: str, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "imr_desk", "import", "--db", pg_url, str(REAL[0])],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "postgresql://postgres@127.0.0.1" in out.stdout
    with Database.open(pg_url) as db:
        assert db.queue_count() == 1
    with pytest.raises(StoreError, match="holds no IMR Desk letters"):
        Database.open(pg_url.rsplit("/", 1)[0] + "/postgres", create=False)


SEARCHES = ["lumbar", "Lumbar MRI", "acupunct", "physical therapy", "CM1", "norco", "of the", "§ 9792.24", "---",
            "upheld", "medically necessary", "zzzunknownword", "treat", "0005"]


def test_search_finds_the_same_letters_on_both_engines(pg_url: str, tmp_path: Path) -> None:
    files = [*REAL[:8], *SEEDS]
    with Database.open(tmp_path / "review.db") as lite, Database.open(pg_url) as server:
        assert lite.import_paths(files).added_ids == server.import_paths(files).added_ids
        for query in SEARCHES:
            assert lite.letter_ids({"search": query}) == server.letter_ids({"search": query}), query
            assert {h.id for h in lite.search(query)} == {h.id for h in server.search(query)}, query
        case = next(r.case_number for r in lite.queue({}, limit=100) if r.case_number)
        for piece in (case, case[:-3], case.split("-")[1][2:5]):
            assert lite.letter_ids({"search": piece}) == server.letter_ids({"search": piece}), piece
        hits = server.search("lumbar")
        assert hits and all("[" in h.snippet and "]" in h.snippet for h in hits)
        import json

        a, b = lite.stats(), server.stats()
        assert list(a.pop("by_batch").values()) == list(b.pop("by_batch").values())  # named by the time of import
        assert json.dumps(a) == json.dumps(b)  # the statistics, in the same order, from both


def test_the_history_as_json_reads_the_same_from_both_engines(pg_url: str, tmp_path: Path) -> None:
    from imr_desk.export.selection import iter_letters

    with Database.open(tmp_path / "review.db", user="alice") as lite, Database.open(pg_url, user="alice") as server:
        for db in (lite, server):
            letter_id = db.import_paths([REAL[0]]).added_ids[0]
            letter = db.letter(letter_id)
            letter.record["summary"] = 'Quotes " and ünïcode, a tab\tand a line\nbreak'
            db.save_record(letter_id, letter.record, letter.version, reason="checked — twice")
        a = next(iter_letters(lite.conn, [1], history="json", slim=True))
        b = next(iter_letters(server.conn, [1], history="json", slim=True))
        assert json_of(a.history_json) == json_of(b.history_json)
        assert a.record == b.record and a.parsed == b.parsed  # slimmed alike
        import re

        def spelled(text: str | None) -> str:  # byte for byte, but for each database's own times
            return re.sub(r'"at":"[^"]*"', '"at":T', text or "")

        assert spelled(a.history_json) == spelled(b.history_json)  # as SQLite's json_object() spells it


def json_of(text: str | None) -> list[dict[str, object]]:
    import json

    rows = json.loads(text or "[]")
    for r in rows:
        r.pop("at")  # each database's own time of the write
    return rows


def test_a_save_the_server_undoes_for_a_deadlock_is_run_again_and_lands(pg_url: str, caplog) -> None:
    import logging
    import time

    with Database.open(pg_url, user="alice") as db:
        letter_id = db.import_paths([REAL[0]]).added_ids[0]
        letter = db.letter(letter_id)
        record = letter.record
        record["summary"] = "saved despite the deadlock"
        other = psycopg.connect(pg_url, autocommit=True)
        other.execute("SET deadlock_timeout = '20s'")  # the store's side (1 s) finds the deadlock: it is undone
        other.execute("BEGIN")
        other.execute("SELECT 1 FROM contents WHERE letter_id = %s FOR UPDATE", (letter_id,))

        def crossing() -> None:  # once the save holds the letter's row and waits for contents: take the letter too
            time.sleep(0.5)
            other.execute("SELECT 1 FROM letters WHERE id = %s FOR UPDATE", (letter_id,))
            time.sleep(0.3)
            other.execute("COMMIT")

        thread = threading.Thread(target=crossing)
        thread.start()
        with caplog.at_level(logging.INFO, logger="imr_desk.store.database"):
            assert db.save_record(letter_id, record, letter.version) == letter.version + 1
        thread.join(30)
        other.close()
        assert "trying again" in caplog.text
        assert db.letter(letter_id).record["summary"] == "saved despite the deadlock"

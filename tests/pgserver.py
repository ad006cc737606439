"""A throwaway PostgreSQL cluster for the tests: started once per test session, a fresh database per test.

The cluster is Debian's `postgresql` server (packaging/bootstrap.sh --dev installs it), run from a
temporary folder: its own data directory, its own socket directory, 127.0.0.1 on a free port, trust
authentication (and one role with a password, for the wrong-password test), fsync off. The package's
own default cluster is neither needed nor touched. initdb refuses to run as root, so as root the
cluster runs as the `postgres` user the package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

PASSWORD_ROLE = "imr_pw"
PASSWORD = "right-password"
LIMITED_ROLE = "imr_reader"  # may connect and read, never write: the permission test's clerk


def bin_dir() -> Path | None:
    """The newest PostgreSQL server's bin folder (with initdb and pg_ctl), or None."""
    found = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl")):
            try:
                found.append((float(Path(d).parent.name), Path(d)))
            except ValueError:
                continue
    if found:
        return max(found)[1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """A running throwaway cluster; `url(dbname)` names one of its databases."""

    def __init__(self) -> None:
        bins = bin_dir()
        if bins is None:
            raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql")
        self.bins = bins
        self.root = Path(tempfile.mkdtemp(prefix="imr-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "run"
        self.port = free_port()
        self.host = "127.0.0.1"
        self.superuser = "postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the server as the package's postgres user
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.sockets.mkdir()
        if self._as:
            os.chown(self.sockets, pwd.getpwnam("postgres").pw_uid, pwd.getpwnam("postgres").pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", self.superuser, "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        hba = (f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
               "local all all trust\nhost all all 127.0.0.1/32 trust\n")
        (self.data / "pg_hba.conf").write_text(hba)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '{self.host}'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.sockets}'\nfsync = off\nsynchronous_commit = off\n"
                       "full_page_writes = off\nmax_connections = 200\nshared_buffers = 32MB\n")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")
        self.admin(f"CREATE ROLE {PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'",
                   f"CREATE ROLE {LIMITED_ROLE} LOGIN")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bins / tool), *args], check=True, capture_output=True, text=True,
                       cwd=self.root)

    def url(self, dbname: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        auth = user or self.superuser
        if password is not None:
            auth += f":{password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"

    def admin(self, *statements: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            for sql in statements:
                conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self.admin(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def pause(self) -> None:
        """Stop the server (fast shutdown: every connection is cut), keeping its data: the server is "down"."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the paused server again on the same port."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

"""A server database's URL: read once, the same way for connecting and for showing it (no Qt).

`postgresql://USER:PASSWORD@HOST:PORT/DBNAME?PARAM=VALUE&...` (also `postgres://`, several
`HOST:PORT` separated by commas, `[IPv6]`, a percent-encoded socket folder as HOST).

**The userinfo ends at the URL's last `@`** (unless that `@` is inside a `password=`-like parameter:
in `?password=x@y` it is the password's). So a password may hold `@ : / ? #` as they are
(`postgresql://owner:p@ss/w?rd@db.example:5432/imr` is the role `owner`, the password `p@ss/w?rd`,
the host `db.example`), and percent-encoded (`p%40ss`) as well; the role's name ends at the first
`:`. An `@` in the database's name or in another parameter's value must be written `%40` (else
everything before it is taken for the userinfo: hidden, never shown). libpq itself
would end the userinfo at the first `@` (and at a `/`): IMR Desk never hands it the URL as typed,
but `libpq_url(url)`, which spells the same parts percent-encoded, so what IMR Desk connects to is
what it shows.

`redact(target)` is the one function every database name passes before it reaches a log line, a
message, the window (title, status bar, recent list) or the settings: the URL without its password
(in the userinfo, or a `password=`, `sslpassword=`... parameter). It never fails: a URL it cannot
read is shown with everything before its last `@` hidden. `redact_text` does the same to every URL
inside a text (a command line, a log line).

`problem(url)` says what is wrong with a URL before any connection is tried (a port that is not a
port, a parameter libpq does not know), so the clerk hears the real cause.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

SCHEMES = ("postgresql://", "postgres://")
HIDDEN = "…"  # what a hidden password shows as
# libpq's parameters that hold a secret (libpq marks the first two with "*"; the others are keys)
SECRET_PARAMS = frozenset({"password", "sslpassword", "oauth_client_secret", "scram_client_key", "scram_server_key"})
_SSL_REQUIRED = frozenset({"require", "verify-ca", "verify-full"})


def is_server_url(target: object) -> bool:
    """Whether `target` names a PostgreSQL database (a postgresql:// or postgres:// URL) rather than a file."""
    return isinstance(target, str) and target.lower().startswith(SCHEMES)


@dataclass(frozen=True)
class ServerUrl:
    """The parts of a server URL as written (`raw_*`) and decoded."""

    scheme: str  # "postgresql" or "postgres", as written
    raw_user: str | None  # the userinfo's role, as written (None: no userinfo)
    raw_password: str | None  # the userinfo's password, as written (None: no ":" in the userinfo)
    hostspec: str  # HOST[:PORT][,HOST[:PORT]...] as written
    path: str  # "/DBNAME" as written, or ""
    query: str  # after "?", as written
    params: list[tuple[str, str]] = field(default_factory=list)  # the query's pairs, decoded

    @property
    def user(self) -> str | None:
        """The role's name: a `user=` parameter, else the userinfo's (libpq lets the parameter win)."""
        given = self.param("user")
        if given is not None:
            return given
        return unquote(self.raw_user) if self.raw_user else None

    @property
    def password(self) -> str | None:
        """A `password=` parameter, else the userinfo's (libpq lets the parameter win)."""
        given = self.param("password")
        if given is not None:
            return given
        return unquote(self.raw_password) if self.raw_password is not None else None

    @property
    def dbname(self) -> str | None:
        name = unquote(self.path[1:]) if self.path.startswith("/") else ""
        return name or self.param("dbname")

    def param(self, key: str) -> str | None:
        values = [v for k, v in self.params if k == key]
        return values[-1] if values else None

    def hosts(self) -> list[tuple[str, str | None]]:
        """(host, port as written or None) for each host of the URL (the hostspec, else the `host=` parameter),
        with the `port=` parameter's port where the hostspec gives none."""
        found: list[tuple[str, str | None]] = []
        for part in self.hostspec.split(",") if self.hostspec else []:
            if part.startswith("["):  # [IPv6]:PORT
                end = part.find("]")
                host, rest = (part[1:end], part[end + 1:]) if end > 0 else (part[1:], "")
                port = rest[1:] if rest.startswith(":") else None
            else:
                host, colon, port_text = part.partition(":")
                port = port_text if colon else None
            found.append((unquote(host), port))
        if not found and self.param("host") is not None:
            found = [(h, None) for h in (self.param("host") or "").split(",")]
        ports = (self.param("port") or "").split(",")
        if self.param("port") is not None:
            found = [(h, p if p is not None else ports[min(i, len(ports) - 1)]) for i, (h, p) in
                     enumerate(found or [("", None)])]
        return found

    @property
    def ssl_asked(self) -> str | None:
        """How the URL (or libpq's PGSSLMODE) refuses a connection without SSL ("sslmode=require", "ssl=true",
        "PGSSLMODE=verify-full"...), or None when it does not."""
        mode = self.param("sslmode")
        if mode is not None:
            return f"sslmode={mode}" if mode.lower() in _SSL_REQUIRED else None
        if self.param("ssl") == "true":
            return "ssl=true"
        env = os.environ.get("PGSSLMODE", "")
        return f"PGSSLMODE={env}" if env.lower() in _SSL_REQUIRED else None


@functools.lru_cache(maxsize=256)
def parse(url: str) -> ServerUrl:
    """The URL's parts (see the module's text: the userinfo ends at the last `@`). Never fails on a server URL."""
    scheme, _, rest = url.partition("://")
    at = rest.rfind("@")
    while at >= 0 and _in_query(rest[:at]):  # `?password=x@y`: that @ is a parameter's, not the userinfo's end
        at = rest.rfind("@", 0, at)
    raw_user: str | None = None
    raw_password: str | None = None
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1:]
        raw_user, colon, pw = userinfo.partition(":")
        raw_password = pw if colon else None
    end = len(rest)
    for mark in "/?":
        i = rest.find(mark)
        if 0 <= i < end:
            end = i
    hostspec, tail = rest[:end], rest[end:]
    path, _, query = tail.partition("?")
    params = []
    for pair in query.split("&") if query else []:
        key, _, value = pair.partition("=")
        params.append((unquote(key), unquote(value)))
    return ServerUrl(scheme, raw_user, raw_password, hostspec, path, query, params)


def _in_query(before: str) -> bool:
    """Whether text before an `@` ends inside a secret parameter of the query (`?password=x` of `?password=x@y`):
    a `?` followed by nothing but libpq's `key=value` pairs, the last of them a secret one. Only then, so that a
    password such as `x?sslmode=disable@...` still reads as a password: mistaking it would show it."""
    q = before.rfind("?")
    while q >= 0:
        pairs = before[q + 1:].split("&")
        if all("=" in pair for pair in pairs) and all(pair.split("=", 1)[0] in _libpq_keywords() | SECRET_PARAMS
                                                       for pair in pairs) \
                and pairs[-1].split("=", 1)[0].lower() in SECRET_PARAMS:
            return True
        q = before.rfind("?", 0, q)
    return False


def libpq_url(url: str) -> str:
    """The same URL as libpq reads it: the role and password percent-encoded, so libpq's parser (which ends
    the userinfo at the first `@`) finds the parts `parse` found. What every connection is made with."""
    if not is_server_url(url):
        return url
    parts = parse(url)
    userinfo = ""
    if parts.raw_user is not None:
        userinfo = quote(unquote(parts.raw_user), safe="")
        if parts.raw_password is not None:
            userinfo += ":" + quote(unquote(parts.raw_password), safe="")
        userinfo += "@"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{userinfo}{parts.hostspec}{parts.path}{query}"


def redact(target: object) -> str:
    """The database's name as it may be shown, logged or kept: a path as it is, a URL without its password."""
    text = str(target)
    if not is_server_url(text):
        return text
    try:
        parts = parse(text)
    except Exception:  # noqa: BLE001 - never let a name we cannot read through whole: hide all before the last @
        head, _, tail = text.partition("://")
        return f"{head}://{HIDDEN}@{tail.rsplit('@', 1)[-1]}" if "@" in tail else text
    user = f"{parts.raw_user}@" if parts.raw_user else ""
    kept = [pair for pair, (key, _) in zip(parts.query.split("&"), parts.params, strict=False)
            if key.lower() not in SECRET_PARAMS] if parts.query else []
    query = f"?{'&'.join(kept)}" if kept else ""
    return f"{parts.scheme}://{user}{parts.hostspec}{parts.path}{query}"


_URL_IN_TEXT = re.compile(r"postgres(?:ql)?://[^\s'\"<>`]*", re.IGNORECASE)


def redact_text(text: str) -> str:
    """`text` with every server URL in it redacted (a command line, a log line, an error's text)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact(m.group(0)), text)


def problem(url: str) -> str | None:
    """What makes `url` unusable before any connection is tried (in the clerk's words), or None."""
    parts = parse(url)
    for _host, port in parts.hosts():
        if port is None or port == "":
            continue
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            return (f"the port “{port}” in the URL is not a port number (it must be a number from 1 to 65535, "
                    "5432 when left out)")
    known = _libpq_keywords()
    for key, value in parts.params:
        if key == "ssl" and value == "true":  # libpq's alias of sslmode=require
            continue
        if known and key not in known:
            return (f"the URL has a parameter “{key}” that PostgreSQL does not know (e.g. sslmode, connect_timeout, "
                    "application_name, options)")
    try:  # what else libpq cannot read (a bad %-escape in the host or the name, a parameter without "=")
        from psycopg.conninfo import conninfo_to_dict

        conninfo_to_dict(libpq_url(url))
    except ImportError:
        pass
    except Exception as exc:  # noqa: BLE001 - psycopg.ProgrammingError, whose text quotes the part it cannot read
        return f"libpq cannot read it ({redact_text(str(exc)).strip()})"
    return None


@functools.lru_cache(maxsize=1)
def _libpq_keywords() -> frozenset[str]:
    """The connection parameters this libpq knows."""
    try:
        import psycopg

        return frozenset(d.keyword.decode() for d in psycopg.pq.Conninfo.get_defaults())
    except Exception:  # noqa: BLE001 - no libpq to ask: libpq itself will say
        return frozenset()

"""A private PostgreSQL server for the tests: Debian's ``postgresql`` binaries, its own cluster.

:func:`postgres_server` runs ``initdb`` into a fresh folder under the system's temporary
directory, starts the server with ``pg_ctl`` on 127.0.0.1 and a free port (its unix socket in
that folder, no other address), with one throwaway role (``grader``, a random password,
``scram-sha-256``), and stops it (``pg_ctl stop``, then the postmaster's pid) and removes the
folder afterwards. ``initdb`` refuses to run as root: as root, every server command runs as
the ``postgres`` system user the Debian package creates (``runuser``), which owns the folder.

:func:`missing` says why no server can be started here (the binaries are not installed),
so tests can skip with that reason; ``.ci/run`` installs them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: the unprivileged system user that runs the server when the tests run as root
SYSTEM_USER = "postgres"
ROLE = "grader"


def bindir() -> Path | None:
    """The folder of ``initdb``/``pg_ctl`` (PATH first, then Debian's ``/usr/lib/postgresql/<v>/bin``)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)  # fmt: skip
    return versions[-1].parent if versions else None


def missing() -> str:
    """Why no server can be started here ('' when one can)."""
    if bindir() is None:
        return "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return f"running as root, and there is no {SYSTEM_USER!r} system user to run the server as"
        if not shutil.which("runuser"):
            return "running as root, and runuser (util-linux) is missing"
    return ""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """A running private cluster: its folder, port, role and password."""

    root: Path
    port: int
    password: str
    bin: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` for the throwaway role, over TCP on 127.0.0.1."""
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", SYSTEM_USER, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def admin(self, sql: str, database: str = "postgres") -> list[tuple]:
        """Run ``sql`` as the cluster's superuser over the unix socket; the rows it returns."""
        import psycopg

        with psycopg.connect(host=str(self.socket_dir), port=self.port, user=SYSTEM_USER, dbname=database,
                             autocommit=True) as conn, conn.cursor() as cur:  # fmt: skip
            cur.execute(sql)
            return cur.fetchall() if cur.description else []

    def create_database(self, name: str) -> str:
        """A fresh database owned by the role (dropped first if it exists); its URL."""
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin(f'CREATE DATABASE "{name}" OWNER {ROLE}')
        return self.url(name)

    def start(self) -> None:
        """Start (or restart) the server and wait until it accepts connections."""
        options = f"-k {self.socket_dir} -h 127.0.0.1 -p {self.port}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while it runs."""
        path = self.data / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(path.read_text().split()[0])
        return None

    def cpu_seconds(self) -> float:
        """CPU seconds of the server so far: the postmaster's and its finished children's (the
        backends of closed connections, reaped by the postmaster); 0 when it is not running."""
        pid = self.pid
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            return 0.0
        return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl stop -m mode``); kill its postmaster if that fails."""
        pid = self.pid
        if pid is None:
            return
        done = self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop", check=False)
        if done.returncode != 0 and self.pid == pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.is_file() else ""


@contextlib.contextmanager
def postgres_server(max_connections: int = 100) -> Iterator[PostgresServer]:
    """A private PostgreSQL server on 127.0.0.1 for the duration of the ``with`` block.

    Raises:
        RuntimeError: the server could not be set up (with ``initdb``'s or the server's log).
    """
    root = Path(tempfile.mkdtemp(prefix="vaecourse-pg-"))
    root.chmod(0o755)  # the system user must reach its folders inside
    server = PostgresServer(root=root, port=free_port(), password=secrets.token_hex(12), bin=bindir() or Path())
    try:
        server.socket_dir.mkdir()
        pwfile = root / "pw"
        pwfile.write_text(server.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(root, SYSTEM_USER, SYSTEM_USER)
            shutil.chown(server.socket_dir, SYSTEM_USER, SYSTEM_USER)
            shutil.chown(pwfile, SYSTEM_USER, SYSTEM_USER)
        pwfile.chmod(0o600)
        try:
            server._run("initdb", "-D", str(server.data), "-U", SYSTEM_USER, "--auth-local=trust",
                        "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions")  # fmt: skip
        except subprocess.CalledProcessError as e:
            raise RuntimeError(f"initdb failed:\n{e.stdout}{e.stderr}") from None
        with (server.data / "postgresql.conf").open("a") as conf:
            # durable as a production server (fsync on): the tests measure its write rate
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nmax_connections = {max_connections}\n")
        try:
            server.start()
        except subprocess.CalledProcessError as e:
            raise RuntimeError(f"the server did not start:\n{e.stdout}{e.stderr}\n{server.log()}") from None
        server.admin(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{server.password}'")
        pwfile.unlink()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)

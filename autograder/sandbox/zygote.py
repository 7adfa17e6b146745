"""Grading kernels forked from a process that has already imported the frameworks.

Importing TensorFlow, PyTorch and ipykernel costs a fresh kernel 2-5 CPU seconds before the
first cell runs, and grading starts one fresh kernel per notebook. A *zygote* pays that
once: it imports the modules (``--preload``) outside any sandbox (only trusted code has run
in it), then waits on a unix socket. For each kernel the launcher (:mod:`launcher`, started
by jupyter_client as usual) sends a request; the zygote forks, and the child confines itself
exactly as the launcher would before ``exec`` (limits, Landlock, the kernel's environment,
its private folder; :func:`confine.confine`) and then runs ipykernel. Every kernel is a new
process with the modules already in memory (copy-on-write); nothing a kernel does reaches
the zygote or another kernel.

The launcher stays as the kernel's stand-in for jupyter_client: it forwards the signals it
gets (interrupt, terminate) to the kernel, and exits when the kernel exits. The zygote kills
a kernel whose launcher is gone (``kill -9`` of the launcher is how jupyter_client kills a
kernel), kills every kernel when it exits, and exits within a second of the grader (it
watches its parent: a parent-death signal would fire when the *thread* that started it ends).
Only the grader's launchers may ask for a kernel: a request must carry the token the zygote
wrote next to its socket (``token``, readable by the grader's user). A sandboxed kernel that
finds the socket cannot read the token (Landlock keeps it out of the zygote's folder, and out
of other processes' memory and environment), so it cannot ask for a kernel without the
sandbox. The launchers of worker processes read it like the grader's own, so one zygote can
serve a whole pool of workers (:func:`autograder.sandbox.kernel.share_zygotes`).

A request the zygote cannot serve (another Python, not an ipykernel command, a zygote that
failed to start) is refused, and the launcher starts the kernel the ordinary way.

Run as ``python zygote.py --socket PATH --workdir DIR --preload MODULE,... [--env K=V ...]``;
:class:`autograder.sandbox.kernel.SandboxKernelManager` does that on its first kernel. Only the
standard library is imported at the top (the launcher imports :func:`handoff` from here).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import hmac
import json
import os
import secrets
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path

#: set in the zygote's environment once it has re-executed itself with the kernels' environment
READY_ENV = "VAECOURSE_ZYGOTE"
PR_SET_PDEATHSIG = 1
#: the kernel command a zygote can serve: ``<its python> -m ipykernel_launcher ...``
KERNEL_MODULE = "ipykernel_launcher"
#: signals the launcher passes on to the kernel
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def _send(conn: socket.socket, message: dict) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps(message).encode() + b"\n")


def _read_line(conn: socket.socket, limit: int = 1 << 22) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise ValueError("request too long")
    return data


def _parent_death_signal(sig: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


def token_path(socket_path: str) -> Path:
    """The file holding the token a zygote's requests must carry (next to its socket)."""
    return Path(socket_path).with_name("token")


# ---- the launcher's side ----------------------------------------------------------------
def handoff(socket_path: str, request: dict, workdir: Path, wait: float = 120.0) -> int | None:
    """Ask the zygote at ``socket_path`` for a kernel; wait while it runs; return its exit code.

    Runs in the launcher. Returns None, having started nothing, when the zygote cannot be
    reached or refuses (the caller then starts the kernel itself). The kernel's pid is
    written to ``workdir/kernel.pid`` (the kernel manager reads its CPU time and memory there).
    """
    pending: list[int] = []
    kernel: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if kernel:
            with contextlib.suppress(ProcessLookupError):
                os.kill(kernel[0], signum)
        else:
            pending.append(signum)

    try:
        request = {**request, "token": token_path(socket_path).read_text().strip()}
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(wait)
        conn.connect(socket_path)
        conn.sendall(json.dumps(request).encode() + b"\n")
        for sig in FORWARDED:
            signal.signal(sig, forward)
        reply = json.loads(_read_line(conn) or b"{}")
    except (OSError, ValueError):
        return None
    if "pid" not in reply:
        return None
    kernel.append(int(reply["pid"]))
    (workdir / "kernel.pid").write_text(str(kernel[0]))
    for signum in pending:
        forward(signum, None)
    conn.settimeout(None)
    try:
        status = json.loads(_read_line(conn) or b"{}")
    except (OSError, ValueError):
        status = {}
    return int(status.get("exit", 1))


# ---- the zygote's side ------------------------------------------------------------------
def _preload(modules: list[str]) -> None:
    for name in modules:
        try:
            __import__(name)
        except Exception as e:  # noqa: BLE001 (a missing framework: kernels import it themselves)
            print(f"zygote: could not preload {name}: {e!r}", file=sys.stderr, flush=True)


def _refusal(request: dict) -> str | None:
    """Why this zygote cannot run ``request``'s kernel command, or None."""
    argv = request.get("argv") or []
    if len(argv) < 3 or argv[1:3] != ["-m", KERNEL_MODULE]:
        return f"not an ipykernel command: {argv[:3]}"
    if os.path.realpath(argv[0]) != os.path.realpath(sys.executable):
        return f"another Python ({argv[0]}; the zygote runs {sys.executable})"
    return None


def _become_kernel(request: dict) -> None:
    """In the forked child: confine this process as the launcher would, then run ipykernel."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import confine  # sibling module: the confinement the launcher applies before exec

    workdir = Path(request["workdir"])
    env = dict(request["env"])
    confine.confine(workdir, request["limits"], request["reads"], request["ports"], env,
                     use_landlock=request.get("landlock", True))  # fmt: skip
    os.environ.clear()
    os.environ.update(env)
    sys.dont_write_bytecode = True
    # sys.path as `python -m ipykernel_launcher` leaves it (it drops the working folder):
    # PYTHONPATH first, then the installation's folders
    rest = [p for p in sys.path if p not in ("", str(Path(__file__).resolve().parent))]
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [*extra, *[p for p in rest if p not in extra]]
    sys.argv = [KERNEL_MODULE, *request["argv"][3:]]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


class Zygote:
    """The server: accepts requests, forks kernels, reaps them, kills orphans."""

    def __init__(self, socket_path: str) -> None:
        self.token = secrets.token_hex(32)
        fd = os.open(token_path(socket_path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.token)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(socket_path)
        self.listener.listen(64)
        self.grader = os.getppid()
        self.children: dict[int, socket.socket] = {}
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def serve(self) -> None:
        """Serve until SIGTERM or the grader's death; kill and reap every kernel on the way out."""
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "signal")
        try:
            while True:
                for key, _ in self.selector.select(timeout=1.0):
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "signal":
                        with contextlib.suppress(OSError):
                            os.read(self.wake_r, 4096)
                    else:
                        self._launcher_readable(key.fileobj, key.data)  # type: ignore[arg-type]
                self._reap()
                if os.getppid() != self.grader:  # the grader is gone
                    break
        except SystemExit:
            pass
        finally:
            for pid in list(self.children):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self._reap(block=True)

    def _stop(self, *_: object) -> None:
        raise SystemExit(0)

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        try:
            conn.settimeout(10)
            _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
            request = json.loads(_read_line(conn) or b"{}")
        except (OSError, ValueError) as e:
            _send(conn, {"refused": f"bad request: {e}"})
            conn.close()
            return
        if uid != os.getuid() or not hmac.compare_digest(str(request.get("token", "")), self.token):
            _send(conn, {"refused": "only the grader's launchers may ask for a kernel"})
            conn.close()
            return
        why = _refusal(request)
        if why:
            _send(conn, {"refused": why})
            conn.close()
            return
        child = os.fork()
        if child == 0:
            self._child(conn, request)
        conn.settimeout(None)
        self.children[child] = conn
        _send(conn, {"pid": child})
        self.selector.register(conn, selectors.EVENT_READ, child)

    def _child(self, conn: socket.socket, request: dict) -> None:
        code = 1
        try:
            _parent_death_signal(signal.SIGKILL)
            os.setsid()
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
            self.selector.close()
            for fd in (self.listener, conn, *self.children.values()):
                fd.close()
            os.close(self.wake_r)
            os.close(self.wake_w)
            _become_kernel(request)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 0
        except BaseException:  # noqa: BLE001 (report in the kernel's log, never return to the server)
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _launcher_readable(self, conn: socket.socket, pid: int) -> None:
        try:
            data = conn.recv(4096)
        except OSError:
            data = b""
        if not data:  # the launcher is gone (jupyter_client killed it): so is its kernel
            self.selector.unregister(conn)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _reap(self, block: bool = False) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is not None:
                _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                with contextlib.suppress(KeyError, ValueError):
                    self.selector.unregister(conn)
                conn.close()


def main(argv: list[str] | None = None) -> None:
    """Take on the kernels' environment (re-exec once), preload, serve."""
    p = argparse.ArgumentParser(prog="zygote.py")
    p.add_argument("--socket", required=True)
    p.add_argument("--workdir", required=True, help="the zygote's own HOME/TMPDIR")
    p.add_argument("--preload", default="", help="modules to import, comma-separated")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE of the kernels' environment")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if os.environ.get(READY_ENV) != "1":  # interpreter settings (hash seed, warnings) come from the environment
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import confine

        confine.copy_matplotlib_cache(Path(args.workdir))
        env = confine.kernel_environment(Path(args.workdir), args.env)
        env[READY_ENV] = "1"
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    os.chdir(args.workdir)
    server = Zygote(args.socket)  # listening before the imports: launchers wait in the backlog
    start = time.process_time()
    _preload([m for m in args.preload.split(",") if m])
    # the preloaded objects (about 400,000 with TensorFlow) move to the permanent generation:
    # a kernel's full garbage collections (0.25 CPU-s each, several per notebook) skip them,
    # and do not write to (copy) every page of the memory it shares with the zygote
    gc.collect()
    gc.freeze()
    print(f"zygote: preloaded {args.preload} in {time.process_time() - start:.1f} CPU-s", file=sys.stderr, flush=True)
    server.serve()


if __name__ == "__main__":
    main()

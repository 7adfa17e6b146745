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
gets (interrupt, terminate) to the kernel, and exits when the kernel exits. For each request
the zygote forks a *keeper* (:mod:`reaper`: a subreaper with the launcher's connection), and
the keeper forks the kernel: when the launcher is gone (``kill -9`` of the launcher's process
group is how jupyter_client kills a kernel) or the kernel exits, the keeper kills the kernel
and every process it started. The zygote stops every keeper when it exits (``SIGTERM``; a
keeper whose zygote dies gets the same as a parent-death signal), kills any orphan that reaches
it (the zygote is a subreaper too: only a keeper killed from outside leaves orphans), and
exits within a second of the grader (it watches its parent: a parent-death signal would fire
when the *thread* that started it ends).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reaper  # noqa: E402 (stand-alone script: sibling module)

#: set in the zygote's environment once it has re-executed itself with the kernels' environment
READY_ENV = "VAECOURSE_ZYGOTE"
#: the kernel command a zygote can serve: ``<its python> -m ipykernel_launcher ...``
KERNEL_MODULE = "ipykernel_launcher"


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


def token_path(socket_path: str) -> Path:
    """The file holding the token a zygote's requests must carry (next to its socket)."""
    return Path(socket_path).with_name("token")


# ---- the launcher's side ----------------------------------------------------------------
def handoff(socket_path: str, request: dict, forwarder: reaper.Forwarder, state: Path,
            wait: float = 120.0) -> int | None:  # fmt: skip
    """Ask the zygote at ``socket_path`` for a kernel; wait while it runs; return its exit code.

    Runs in the launcher (:func:`reaper.follow`: signals passed on through ``forwarder``, the
    kernel's pid written to ``state/kernel.pid``). Returns None, having started nothing, when
    the zygote cannot be reached or refuses (the caller then starts the kernel itself).
    """
    try:
        request = {**request, "token": token_path(socket_path).read_text().strip()}
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(wait)
        conn.connect(socket_path)
        conn.sendall(json.dumps(request).encode() + b"\n")
    except (OSError, ValueError):
        return None
    return reaper.follow(conn, forwarder, state, wait)


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
    """In the keeper's child: confine this process as the launcher would, then run ipykernel."""
    import confine  # sibling module: the confinement the launcher applies before exec

    workdir = Path(request["workdir"])
    env = dict(request["env"])
    confine.confine(workdir, request["limits"], request["reads"], request["ports"], env,
                    use_landlock=request.get("landlock", True), groups=request.get("groups") or [])  # fmt: skip
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
    """The server: accepts requests, forks a keeper per kernel, reaps them, kills orphans."""

    def __init__(self, socket_path: str) -> None:
        self.token = secrets.token_hex(32)
        fd = os.open(token_path(socket_path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.token)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(socket_path)
        self.listener.listen(64)
        self.zygote_pid = os.getpid()
        self.grader = os.getppid()
        self.keepers: set[int] = set()
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def serve(self) -> None:
        """Serve until SIGTERM or the grader's death; stop every keeper (and so every kernel)
        on the way out."""
        reaper.become_subreaper()
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
                self._reap()
                if os.getppid() != self.grader:  # the grader is gone
                    break
        except SystemExit:
            pass
        finally:
            self._stop_keepers()

    def _stop_keepers(self, wait: float = 15.0) -> None:
        """SIGTERM to every keeper (each sweeps its kernel's processes), then wait for them;
        whatever is left after ``wait`` seconds is killed."""
        for pid in self.keepers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + wait
        while self.keepers and time.monotonic() < end:
            self._reap()
            time.sleep(0.01)
        reaper.sweep()

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
        self.keepers.add(child)
        conn.close()  # the keeper has it: the launcher's end closing is the keeper's business

    def _child(self, conn: socket.socket, request: dict) -> None:
        """In the forked child: become the kernel's keeper (it forks the kernel); never returns."""
        try:
            reaper.parent_death_signal(signal.SIGTERM)  # the zygote dies: sweep, as when it stops
            if os.getppid() != self.zygote_pid:
                os._exit(1)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            self.selector.close()
            self.listener.close()
            os.close(self.wake_r)
            os.close(self.wake_w)
            import confine  # sibling module

            limits = request.get("limits") or {}
            keeper = confine.make_keeper(Path(request["workdir"]), Path(request.get("state") or request["workdir"]),
                                         limits, request.get("groups") or [])  # fmt: skip
        except BaseException:  # noqa: BLE001 (never back into the server's loop)
            traceback.print_exc()
            os._exit(1)
        keeper.run(conn, lambda: _become_kernel(request))

    def _reap(self) -> None:
        """Collect finished keepers; a keeper that did not end by itself (killed from outside)
        may have left orphans, which came here: kill them."""
        abnormal = False
        for pid, code in reaper.reap().items():
            if pid in self.keepers:
                self.keepers.discard(pid)
                abnormal |= code != 0
        if abnormal:
            reaper.sweep(exclude=self.keepers)


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

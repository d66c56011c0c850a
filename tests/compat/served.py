"""phoenix-annot served the two ways the README tells people to: `manage.py demo`, and gunicorn.

pytest-django's live server is Django's development server, which reads no chunked request body, and it
bypasses `phoenix_annot.wsgi`. The clients that send chunked bodies are therefore tested against the real
servers, each a process of its own on a throwaway SQLite database, checked from outside through `/v1`.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
START_TIMEOUT_SECONDS = 90


@dataclass(frozen=True)
class Served:
    base_url: str
    api_key: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database: Path, *, v1_auth: bool) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="phoenix_annot.settings",
        PHOENIX_ANNOT_V1_AUTH_REQUIRED="true" if v1_auth else "false",
    )
    return env


def manage(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def serving(command: list[str], *, port: int, env: dict[str, str], log: Path) -> Iterator[str]:
    base_url = f"http://127.0.0.1:{port}"
    with open(log, "w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _healthy(base_url):
            assert process.poll() is None, f"server exited with {process.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"server did not start:\n{log.read_text()}"
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def demo_server(workdir: Path) -> Iterator[Served]:
    """`manage.py demo`, word for word as the README starts it (on another port and database)."""
    port = free_port()
    env = server_env(workdir / "demo.sqlite3", v1_auth=True)
    command = [sys.executable, "manage.py", "demo", "--port", str(port)]
    with serving(command, port=port, env=env, log=workdir / "demo.log") as base_url:
        yield Served(base_url, api_key=None)


@contextmanager
def gunicorn_server(workdir: Path) -> Iterator[Served]:
    """The README's production command, /v1 keys required, with a key made for an annotator."""
    port = free_port()
    env = server_env(workdir / "gunicorn.sqlite3", v1_auth=True)
    manage(["migrate", "--noinput", "-v", "0"], env)
    api_key = manage(["shell", "-v", "0", "-c", MAKE_API_KEY], env).strip()
    command = [
        str(GUNICORN),
        "phoenix_annot.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        # Another gunicorn on this machine may own the default control socket.
        "--no-control-socket",
    ]
    with serving(command, port=port, env=env, log=workdir / "gunicorn.log") as base_url:
        yield Served(base_url, api_key=api_key)


MAKE_API_KEY = """
from phoenix_annot.accounts.models import User
from phoenix_annot.accounts.services import api_key_create
user = User.objects.create_user("node", password="node-password", role=User.Role.ANNOTATOR)
print(api_key_create(user=user, name="node clients")[1])
"""

"""The example HTTP host (examples_c/http_host), started for each test on a free loopback port.

`tests/http_host.rs` builds the host against the library `cargo test` built and runs these
files with pytest: HTTP_HOST is the executable, HTTP_HOST_DATA its folder of pages and users.
"""

import http.client
import os
import re
import signal
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

# racing.py, the Python package's helper for threads that race for certain.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python" / "tests"))

PASSWORDS = {"admin": "admin-demo", "ann": "ann-demo", "bob": "bob-demo"}


class Host:
    """A running http_host: its port, its access log, and what it printed."""

    def __init__(self, tmp_path, *flags):
        self.log = tmp_path / "Access.log"
        self.process = subprocess.Popen(
            [os.environ["HTTP_HOST"], "0", "--data", os.environ["HTTP_HOST_DATA"], "--log", str(self.log), *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = self.process.stdout.readline()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", first)
        if match is None:
            self.process.kill()
            raise AssertionError(f"http_host did not start: {first!r} {self.process.stderr.read()!r}")
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = None

    def stop(self):
        """Stops the host (SIGTERM); returns everything it printed."""
        if self.output is None:
            self.process.send_signal(signal.SIGTERM)
            out, err = self.process.communicate(timeout=60)
            assert self.process.returncode == 0, err
            self.output = out + err
        return self.output

    def log_text(self):
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""


class Client:
    """One visitor: keeps the session cookie as a browser would (one cookie, `sid`)."""

    def __init__(self, host, cookie=None):
        self.host = host
        self.cookie = cookie
        self.connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=60)

    def request(self, method, path, form=None, headers=None):
        """(status, body text, Set-Cookie header or None); the cookie is kept or cleared."""
        all_headers = dict(headers or {})
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie is not None:
            all_headers["Cookie"] = f"sid={self.cookie}"
        self.connection.request(method, path, body=body, headers=all_headers)
        response = self.connection.getresponse()
        text = response.read().decode("utf-8")
        set_cookie = response.getheader("Set-Cookie")
        if set_cookie is not None:
            value = set_cookie.split(";", 1)[0].split("=", 1)[1]
            self.cookie = value or None
        return response.status, text, set_cookie

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, form=None, **kw):
        return self.request("POST", path, form=form or {}, **kw)

    def login(self, user):
        status, body, _ = self.post("/login", {"user": user, "password": PASSWORDS[user]})
        assert status == 200, body
        return self


@pytest.fixture
def host(tmp_path):
    running = Host(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def start_host(tmp_path):
    """Starts a host with flags; each is stopped at the end of the test."""
    started = []

    def start(*flags):
        folder = tmp_path / f"host{len(started)}"
        folder.mkdir()
        started.append(Host(folder, *flags))
        return started[-1]

    yield start
    for running in started:
        running.stop()

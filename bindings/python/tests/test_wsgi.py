"""sessmgr.wsgi under wsgiref's real server, spoken to by http.client on a loopback port."""

import http.client
import re
import socketserver
import threading
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import runpy
from pathlib import Path

import pytest

import sessmgr
from sessmgr.wsgi import SessionMiddleware, login, logout, session_of

from racing import Role, race

ID = re.compile(r"^[0-9A-F]{32}$")


def app(environ, start_response):
    session = session_of(environ)
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if path == "/hits":
        body = str(session.storage.increment("/hits"))
    elif path == "/login" and method == "POST":
        login(environ, {"privileges": ["WebAdmin"], "userName": environ["QUERY_STRING"]})
        body = "signed in"
    elif path == "/logout" and method == "POST":
        logout(environ)
        body = "signed out"
    elif path == "/whoami":
        body = f"{session.user_name or '-'} admin={session.has_privilege('WebAdmin')}"
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such page"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Set-Cookie", "sid=forged")])
    return [body.encode()]


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # the test's output stays clean
        pass


@contextmanager
def serving(application=None, **options):
    wrapped = application or SessionMiddleware(app, **options)
    server = make_server("127.0.0.1", 0, wrapped, ThreadingServer, QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def request(port, method, path, cookie=None):
    """(status, body, the Set-Cookie headers, Cache-Control) of one request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Cookie": f"sid={cookie}"} if cookie is not None else {}
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        body = response.read().decode()
        return response.status, body, response.headers.get_all("Set-Cookie") or [], response.getheader("Cache-Control")
    finally:
        connection.close()


def cookie_id(set_cookies):
    (header,) = set_cookies
    value = header.split(";", 1)[0]
    assert value.startswith("sid=")
    return value[len("sid="):]


def test_a_visitor_gets_a_guest_session_and_keeps_it():
    with serving() as port:
        status, body, cookies, cache = request(port, "GET", "/hits")
        assert (status, body) == (200, "1")
        (header,) = cookies
        sid = cookie_id(cookies)
        assert ID.match(sid)
        assert header == f"sid={sid}; Path=/; HttpOnly; SameSite=Lax"
        assert cache == "no-store"
        info = sessmgr.session_info(sid)
        assert info["type"] == "web" and info["IPAddress"] == "127.0.0.1"
        # The same cookie, the same session: no new cookie, and the app's own is dropped.
        assert request(port, "GET", "/hits", sid)[:3] == (200, "2", [])
        assert request(port, "GET", "/whoami", sid)[1] == "- admin=False"
        assert sessmgr.session_count() == 1


def test_login_rotates_the_id_and_the_old_cookie_is_dead():
    with serving() as port:
        sid = cookie_id(request(port, "GET", "/hits")[2])
        status, body, cookies, _ = request(port, "POST", "/login?ann", sid)
        assert (status, body) == (200, "signed in")
        new = cookie_id(cookies)
        assert ID.match(new) and new != sid
        assert request(port, "GET", "/whoami", new)[1] == "ann admin=True"
        assert request(port, "GET", "/hits", new)[1] == "2"  # the storage came along
        # The old cookie names no session now: a new guest, with a cookie of its own.
        status, body, cookies, _ = request(port, "GET", "/hits", sid)
        assert body == "1" and cookie_id(cookies) not in (sid, new)


def test_a_cookie_that_is_no_session_id_gets_a_new_guest():
    with serving() as port:
        for bad in ["x", "0" * 32, "A" * 40, '"quoted"', "%0Aforged line"]:
            status, body, cookies, _ = request(port, "GET", "/hits", bad)
            assert (status, body) == (200, "1"), bad
            assert ID.match(cookie_id(cookies))


def test_logout_closes_the_session_and_clears_the_cookie():
    with serving() as port:
        sid = cookie_id(request(port, "POST", "/login?bob")[2])
        status, body, cookies, _ = request(port, "POST", "/logout", sid)
        assert (status, body) == (200, "signed out")
        assert cookies == ["sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"]
        assert sessmgr.session_info(sid) is None


def test_secure_cookie_behind_tls_and_options_checked():
    with serving(secure=True, same_site="Strict") as port:
        (header,) = request(port, "GET", "/hits")[2]
        assert header.endswith("; Path=/; HttpOnly; SameSite=Strict; Secure")
    with pytest.raises(sessmgr.InvalidArgumentError):
        SessionMiddleware(app, same_site="None")  # browsers refuse SameSite=None without Secure
    with pytest.raises(sessmgr.InvalidArgumentError):
        SessionMiddleware(app, session_type="remote")
    with pytest.raises(sessmgr.InvalidArgumentError):
        session_of({})


def test_eight_clients_on_one_cookie_lose_no_hit():
    with serving() as port:
        sid = cookie_id(request(port, "GET", "/hits")[2])
        failures = []

        def client(thread, n):
            status, _, cookies, _ = request(port, "GET", "/hits", sid)
            if status != 200 or cookies:
                failures.append((status, cookies))

        # 25 requests per client at least, 5 of them while another's was answered.
        [done] = race(Role("client", 8, client, rounds=25, overlapped=5))
        assert failures == []
        assert sessmgr.Session(sid).storage["hits"] == 1 + done


def test_the_readme_example_counts_a_visitors_hits():
    example = Path(__file__).resolve().parents[1] / "examples" / "wsgi_hits.py"
    with serving(runpy.run_path(str(example))["application"]) as port:
        status, body, cookies, _ = request(port, "GET", "/")
        assert (status, body) == (200, "1\n")
        assert request(port, "GET", "/", cookie_id(cookies))[:3] == (200, "2\n", [])

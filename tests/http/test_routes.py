"""The example host's routes over real HTTP: sessions, sign-in with rotation, the counter, the
session identifier, logging out, the admin routes, and what bad cookies and other sites get."""

import json
import os
import re
import subprocess

from conftest import Client
from racing import Role, race

ID = re.compile(r"^[0-9A-F]{32}$")


def me(client):
    status, body, _ = client.get("/me")
    assert status == 200, body
    return json.loads(body)


def test_a_first_visit_gets_a_guest_session_and_a_safe_cookie(host):
    visitor = Client(host)
    status, body, set_cookie = visitor.get("/counter")
    assert (status, body) == (200, "1\n")
    attributes = [a.strip() for a in set_cookie.split(";")]
    assert ID.match(visitor.cookie), set_cookie
    assert sorted(attributes[1:]) == ["HttpOnly", "Path=/", "SameSite=Lax"], set_cookie
    # The cookie holds: the same session counts on, and nothing is set again.
    assert visitor.get("/counter")[:3] == (200, "2\n", None)
    who = me(visitor)
    assert who["guest"] is True and who["userName"] == "" and who["counter"] == 2
    assert visitor.cookie not in json.dumps(who), "the page never sees the session ID"
    assert visitor.get("/4DACTION/action_Session")[1] == "4DACTION --> Session is not WebAdmin"


def test_behind_tls_the_cookie_is_secure_and_host_bound(start_host):
    host = start_host("--secure")
    _, _, cookie = Client(host).get("/counter")
    attributes = sorted(a.strip() for a in cookie.split(";")[1:])
    assert cookie.startswith("__Host-sid=") and attributes == ["HttpOnly", "Path=/", "SameSite=Lax", "Secure"]


def test_login_checks_the_password_then_grants_and_rotates_in_one_step(start_host):
    host = start_host("--grace", "0")
    visitor = Client(host)
    visitor.get("/counter")
    guest_id = visitor.cookie
    for user, password in [("admin", "wrong"), ("nobody", "admin-demo"), ("admin", ""), ("ann", "admin-demo")]:
        status, body, set_cookie = visitor.post("/login", {"user": user, "password": password})
        assert (status, json.loads(body)) == (401, {"error": "wrong user name or password"}), user
        assert set_cookie is None and visitor.cookie == guest_id
    assert me(visitor)["guest"] is True
    status, body, _ = visitor.post("/login", {"user": "admin"})
    assert status == 401, "no password field"

    status, body, set_cookie = visitor.post("/login", {"user": "admin", "password": "admin-demo"})
    assert (status, json.loads(body)) == (200, {"ok": True, "userName": "admin"})
    assert ID.match(visitor.cookie) and visitor.cookie != guest_id
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    who = me(visitor)
    assert (who["userName"], who["guest"], who["webAdmin"]) == ("admin", False, True)
    assert who["counter"] == 1, "the storage stays with the session"
    assert visitor.get("/4DACTION/action_Session")[1] == "4DACTION --> Session is WebAdmin"
    # The old ID is dead at once (--grace 0): whoever holds it gets a fresh guest session.
    stale = Client(host, guest_id)
    assert stale.get("/4DACTION/action_Session")[1] == "4DACTION --> Session is not WebAdmin"
    assert stale.cookie != guest_id and me(stale)["counter"] == 0
    # A user's privileges are the users file's.
    ann = Client(host).login("ann")
    assert me(ann)["privileges"] == ["simple"]
    assert ann.get("/4DACTION/action_Session")[1] == "4DACTION --> Session is not WebAdmin"


def test_within_the_grace_the_old_id_still_reaches_the_session(start_host):
    # The longest grace the host takes: the request in flight comes well within it, however
    # busy the machine (the default, 5 s, is a time a loaded machine could pass).
    host = start_host("--grace", "60")
    visitor = Client(host)
    visitor.get("/counter")
    old = visitor.cookie
    visitor.login("bob")
    in_flight = Client(host, old)
    assert in_flight.get("/counter")[:3] == (200, "2\n", None), "the same session, no new cookie"


def test_the_counter_is_atomic_under_concurrent_requests(host):
    first = Client(host)
    first.get("/counter")
    cookie = first.cookie
    failures = []
    clients = [Client(host, cookie) for _ in range(8)]

    def hammer(thread, n):
        status, _, set_cookie = clients[thread].get("/counter")
        if status != 200 or set_cookie is not None:
            failures.append(status)

    # 8 clients, 150 requests each at least, 20 of them while another's was answered.
    [done] = race(Role("client", 8, hammer, rounds=150, overlapped=20))
    assert failures == []
    assert first.get("/counter")[1] == f"{1 + done + 1}\n"


def test_the_session_identifier(host):
    visitor = Client(host).login("ann")
    assert visitor.post("/identifier", {"identifier": "Kiosk 3"})[0] == 200
    assert me(visitor)["identifier"] == "Kiosk 3"
    status, body, _ = visitor.post("/identifier", {"identifier": "x" * 300})
    assert status == 400 and "identifier" in json.loads(body)["error"], body
    assert me(visitor)["identifier"] == "Kiosk 3", "a refused identifier changes nothing"
    assert visitor.post("/identifier", {"identifier": ""})[0] == 200
    assert me(visitor)["identifier"] == ""
    visitor.post("/identifier", {"identifier": "Kiosk 4"})
    assert visitor.post("/identifier", {})[0] == 200
    assert me(visitor)["identifier"] == "", "no field clears it too"
    assert visitor.post("/identifier", {"identifier": "y" * 5000})[0] == 413


def test_logout_here_and_everywhere(host):
    ann_phone, ann_laptop, bob = Client(host).login("ann"), Client(host).login("ann"), Client(host).login("bob")
    status, body, set_cookie = ann_phone.post("/logout")
    assert status == 200 and set_cookie.startswith("sid=;") and "Max-Age=0" in set_cookie
    assert ann_phone.cookie is None
    assert me(ann_laptop)["userName"] == "ann", "one session ended, not the user's others"

    ann_phone.login("ann")
    status, body, set_cookie = ann_laptop.post("/logout-everywhere")
    assert (status, json.loads(body)) == (200, {"ok": True, "closed": 2}) and "Max-Age=0" in set_cookie
    assert me(Client(host, ann_phone.cookie))["guest"] is True
    assert me(bob)["userName"] == "bob", "another user's sessions stay"
    status, body, _ = Client(host).post("/logout-everywhere")
    assert status == 400 and "sign in first" in body


def admin_data(client, query=""):
    status, body, _ = client.get("/admin/clients.json" + query)
    assert status == 200, body
    return json.loads(body)


def test_the_admin_routes_are_webadmin_only(host):
    ann = Client(host).login("ann")
    for visitor in (Client(host), ann):
        status, body, _ = visitor.get("/admin")
        assert status == 403 and 'id="forbidden"' in body
        assert visitor.get("/admin/clients.json")[0] == 403
        status, _, _ = visitor.post("/admin/disconnect", {"client": str(me(ann)["clientId"])})
        assert status == 403
    assert me(ann)["userName"] == "ann", "a refused disconnection disconnects nobody"
    admin = Client(host).login("admin")
    status, body, _ = admin.get("/admin")
    assert status == 200 and "<table id=\"clients\">" in body


def test_the_admin_data_pages_and_filters_and_holds_no_session_id(host):
    admin = Client(host).login("admin")
    visitors = [Client(host).login("ann") for _ in range(3)] + [Client(host) for _ in range(4)]
    for n, visitor in enumerate(visitors):
        visitor.get("/counter")
        visitor.post("/identifier", {"identifier": f"Kiosk {n}"})
    everything = admin_data(admin, "?limit=100")
    page = everything["clients"]["response"]
    assert page["total"] == 8 and len(page["clients"]) == 8
    text = json.dumps(everything)
    for visitor in visitors + [admin]:
        assert visitor.cookie not in text, "a session ID on the admin page"
    assert everything["stats"]["live"]["web"] == 8 and everything["stats"]["live"]["total"] == 8
    rows = {c["userName"]: c for c in page["clients"]}
    assert rows["Kiosk 1"]["guestFiles"][0]["filename"] == "Web Demo"
    assert rows["Kiosk 5"]["guestFiles"] == []
    users = {str(s["clientId"]): s["userName"] for s in everything["sessions"]["sessions"]}
    assert users[rows["Kiosk 1"]["id"]] == "ann" and users[rows["Kiosk 5"]["id"]] == ""

    found = admin_data(admin, "?search=kiosk%205")["clients"]["response"]
    assert [c["userName"] for c in found["clients"]] == ["Kiosk 5"] and found["total"] == 1
    second = admin_data(admin, "?offset=3&limit=3")["clients"]["response"]
    assert [c["id"] for c in second["clients"]] == [c["id"] for c in page["clients"][3:6]]
    assert admin_data(admin, "?ipaddress=10.")["clients"]["response"]["total"] == 0
    assert admin_data(admin, "?ipaddress=127.0.0.1")["clients"]["response"]["total"] == 8
    for bad in ["?offset=-1", "?limit=ten", "?limit=10001", "?type=ftp"]:
        status, body, _ = admin.get("/admin/clients.json" + bad)
        assert status == 400 and json.loads(body)["error"], bad


def test_message_and_disconnect_by_client_number(host):
    admin = Client(host).login("admin")
    ann = Client(host).login("ann")
    client = str(me(ann)["clientId"])
    assert admin.post("/admin/message", {"client": client, "text": "Closing at noon"})[0] == 200
    assert [m["text"] for m in me(ann)["inbox"]["messages"]] == ["Closing at noon"]
    assert me(ann)["inbox"]["messages"] == [], "each message once"
    status, body, _ = admin.post("/admin/message", {"client": "999999", "text": "nobody"})
    assert status == 404, body
    assert admin.post("/admin/disconnect", {"client": "abc"})[0] == 400

    assert admin.post("/admin/disconnect", {"client": client, "text": "Bye", "grace": "60"})[0] == 200
    notice = me(ann)["inbox"]["messages"][0]
    assert notice["text"] == "Bye" and "disconnectAt" in notice
    assert admin.post("/admin/disconnect", {"client": client})[0] == 200
    old = ann.cookie
    assert me(ann)["guest"] is True and ann.cookie != old, "the next request lands in a guest session"


def test_cookies_that_are_no_session_id_get_a_guest_and_are_written_nowhere(host):
    bad = [
        "not-an-id",
        "3C81A8D7AFE64C2E9CCFFCDC35DC52F5",  # the right shape, unknown
        "x" * 3000,
        "%0a2026-01-01 00:00:00.000 +0000\tError\t1\tforged\tline",
        "3c81a8d7-afe6-4c2e-9ccf-fcdc35dc52f5\"; evil",
    ]
    for cookie in bad:
        visitor = Client(host, cookie)
        status, body, set_cookie = visitor.get("/counter")
        assert (status, body) == (200, "1\n"), cookie
        assert set_cookie is not None and ID.match(visitor.cookie)
    output = host.stop()
    log = host.log_text()
    for cookie in bad:
        for piece in (cookie[:12], "forged", "evil"):
            assert piece not in log and piece not in output, piece
    for line in log.splitlines()[1:]:
        assert len(line.split("\t")) == 5, line


def test_other_sites_unknown_routes_and_wrong_methods(host):
    visitor = Client(host)
    visitor.get("/counter")
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": f"http://127.0.0.1:{host.port + 1}"}):
        status, body, _ = visitor.post("/login", {"user": "admin", "password": "admin-demo"}, headers=headers)
        assert status == 403 and "another site" in body, headers
    assert me(visitor)["guest"] is True
    same = {"Origin": host.url, "Sec-Fetch-Site": "same-origin"}
    assert visitor.post("/login", {"user": "ann", "password": "ann-demo"}, headers=same)[0] == 200

    assert visitor.get("/nowhere")[0] == 404
    assert visitor.get("/login")[0] == 405
    assert visitor.post("/counter")[0] == 405


def test_static_routes_touch_no_session(host):
    admin = Client(host).login("admin")
    before = admin_data(admin)["clients"]["response"]["total"]
    stranger = Client(host)
    for path in ("/static", "/", "/home.js", "/admin.js", "/style.css"):
        status, _, set_cookie = stranger.get(path)
        assert status == 200 and set_cookie is None, path
    assert admin_data(admin)["clients"]["response"]["total"] == before


def test_the_access_log_names_no_session_id(host):
    visitors = [Client(host).login(user) for user in ("admin", "ann", "bob")]
    seen = set()
    for visitor in visitors:
        seen.add(visitor.cookie)
        visitor.post("/identifier", {"identifier": "Desk"})
        visitor.get("/counter")
        visitor.post("/logout")
    log = host.log_text()
    assert "session ID rotated" in log and '"Desk"' in log
    for session_id in seen:
        assert session_id not in log


def test_the_host_refuses_bad_arguments(tmp_path):
    for args in (["--grace", "61"], ["70000"], ["--nope"]):
        done = subprocess.run([os.environ["HTTP_HOST"], *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "usage:" in done.stderr, args
    empty = tmp_path / "data"
    empty.mkdir()
    done = subprocess.run([os.environ["HTTP_HOST"], "0", "--data", str(empty)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and "users file" in done.stderr


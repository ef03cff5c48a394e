"""The Pythonic API, mirroring 4D's Session class."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

import sessmgr
from conftest import SEED_ROLES


def test_create_and_info():
    s = sessmgr.create_session(type="remote", user_name="Designer", machine_name="My Computer",
                               system_user_name="John Doe", ip_address="localhost", host_type="mac",
                               persistent_id="8FFDAE519F1F4DCDB81E8E8DB00AD101")
    info = s.info
    assert list(info) == ["type", "userName", "machineName", "systemUserName", "IPAddress", "hostType",
                          "creationDateTime", "state", "ID", "persistentID"]
    assert info["ID"] == s.id and len(s.id) == 32
    assert info["userName"] == s.user_name == "Designer"
    assert sessmgr.parse_date(info["creationDateTime"]).tzinfo == timezone.utc
    assert sessmgr.session_info(s.id) == info
    assert sessmgr.session_info(s.id.lower()) == info
    assert sessmgr.sessions_list() == [info]
    s.close()
    assert sessmgr.session_info(s.id) is None
    assert sessmgr.session_info("not an id") is None
    with pytest.raises(sessmgr.NotFoundError) as raised:
        s.touch()
    assert raised.value.status == 4
    assert "sessmgr_session_touch" in raised.value.message


def test_identifier_property():
    s = sessmgr.create_session("remote", user_name="Guest")
    assert s.identifier == ""
    s.identifier = "S1234567"
    assert s.identifier == "S1234567"
    assert s.user_name == "Guest"
    assert sessmgr.clients_list()["response"]["clients"][0]["userName"] == "S1234567"
    with pytest.raises(sessmgr.LimitExceededError):
        s.identifier = "x" * 257
    with pytest.raises(sessmgr.InvalidArgumentError):
        s.identifier = "nul\0inside"
    assert s.identifier == "S1234567"
    local = sessmgr.create_session("standalone")
    with pytest.raises(sessmgr.NotSupportedError):
        local.identifier = "x"


def test_privileges_like_4d():
    sessmgr.load_roles(SEED_ROLES)
    web = sessmgr.create_session()
    assert web.is_guest()
    assert web.set_privileges({"roles": ["Medium"], "privileges": "ghost", "userName": "ann"}) is True
    assert web.ignored_privileges == ["ghost"]
    assert web.get_privileges() == ["simple", "medium"]
    assert web.has_privilege("SIMPLE") and not web.has_privilege("WebAdmin")
    assert web.user_name == "ann"
    assert web.set_privileges(["WebAdmin"]) and web.get_privileges() == ["WebAdmin"]
    assert web.set_privileges("WebAdmin, simple") and web.get_privileges() == ["WebAdmin", "simple"]
    assert web.clear_privileges() is True and web.is_guest()
    remote = sessmgr.create_session("remote")
    assert remote.set_privileges("simple") is False
    assert remote.clear_privileges() is False
    assert remote.has_privilege("anything") is True
    assert remote.get_privileges() == ["WebAdmin"]
    assert remote.is_guest() is False
    with pytest.raises(sessmgr.InvalidJsonError):
        web.set_privileges('["unclosed"')


def test_permissions_like_4d():
    sessmgr.load_roles({
        "privileges": [{"privilege": "general"}, {"privilege": "detail"}],
        "roles": [{"role": "Manager", "privileges": ["general"]}],
        "permissions": {"allowed": [
            {"applyTo": "Employee", "type": "dataclass", "read": ["general"]},
            {"applyTo": "Employee.salary", "type": "attribute", "read": ["detail"]},
        ]},
        "restrictedByDefault": True,
    })
    web = sessmgr.create_session()
    assert web.has_permission("Employee", "read") is False
    web.set_privileges({"roles": "Manager"})
    assert web.has_permission("Employee.name", "read") is True
    assert web.has_permission("Employee.salary", "read") is False
    why = web.explain_permission("Employee.salary", "read")
    assert why["allowed"] is False and why["type"] == "attribute"
    assert why["checks"][0]["requires"][1]["privileges"][0]["through"] == ['through role "Manager"']
    assert web.has_permission("Employee", "create") is False
    assert sessmgr.create_session("remote").has_permission("Employee", "create") is True
    with pytest.raises(sessmgr.InvalidArgumentError) as raised:
        web.has_permission("Employee", "Read")
    assert "case-sensitive" in raised.value.message
    with pytest.raises(sessmgr.InvalidArgumentError):
        web.explain_permission("a.b.c", "read")
    with pytest.raises(sessmgr.InvalidArgumentError):
        web.has_permission("nul\0", "read")
    with pytest.raises(sessmgr.InvalidArgumentError) as raised:
        sessmgr.load_roles({"permissions": {"allowed": [{"applyTo": "City", "type": "dataclass", "read": ["ghost"]}]}})
    assert "names privilege \"ghost\", which is not declared" in raised.value.message
    assert web.has_permission("Employee.name", "read") is True  # the bad file changed nothing


def test_request_in_one_call():
    sessmgr.configure(clock="manual")
    sessmgr.load_roles(SEED_ROLES)
    s = sessmgr.create_session()
    s.set_privileges("medium")
    s.storage["cart"] = [1, 2]
    before = s.expiration_date
    sessmgr.clock_advance(600)
    assert s.request("simple", "/cart") == (True, [1, 2])
    assert s.expiration_date > before
    assert s.request("WebAdmin", "/nothing") == (False, sessmgr.MISSING)
    assert s.request() == (None, None)
    touched = s.expiration_date
    sessmgr.clock_advance(600)
    with pytest.raises(sessmgr.InvalidArgumentError):
        s.request("simple", "no-slash")
    assert s.expiration_date == touched  # a refused call is no activity


def test_idle_timeout_and_expiration():
    sessmgr.configure(clock="manual")
    s = sessmgr.create_session()
    assert s.idle_timeout == 60
    s.idle_timeout = 10
    assert s.idle_timeout == 60
    s.idle_timeout = 120
    created = sessmgr.parse_date(s.info["creationDateTime"])
    assert isinstance(s.expiration_date, datetime)
    assert s.expiration_date == created + timedelta(minutes=120)
    with pytest.raises(sessmgr.InvalidArgumentError):
        s.idle_timeout = -1
    with pytest.raises(sessmgr.InvalidArgumentError):
        s.idle_timeout = 2**40
    sessmgr.clock_advance(120 * 60)
    assert sessmgr.session_info(s.id) is None
    assert sessmgr.sweep() == 1
    with pytest.raises(sessmgr.NotSupportedError):
        sessmgr.create_session("remote").idle_timeout = 90


def test_storage_mapping():
    s = sessmgr.create_session()
    st = s.storage
    assert dict(st) == {} and len(st) == 0
    st["clientIP"] = {"value": "192.0.2.7"}
    st["a/b~c"] = [1, 2]
    assert st["clientIP"]["value"] == "192.0.2.7"
    assert st["a/b~c"] == [1, 2]
    assert st.at("/a~1b~0c/1") == 2
    assert st.get("missing") is None and st.get("missing", 5) == 5
    assert "clientIP" in st and "missing" not in st
    st["nothing"] = None
    assert st["nothing"] is None and "nothing" in st
    with pytest.raises(KeyError):
        st["missing"]
    st.merge({"clientIP": None, "more": {"x": 1}})
    assert sorted(st) == ["a/b~c", "more", "nothing"]
    del st["nothing"]
    with pytest.raises(KeyError):
        del st["nothing"]
    with pytest.raises(sessmgr.NoValueError):
        st.set_at("/no/parent", 1)
    with pytest.raises(sessmgr.InvalidArgumentError):
        st.merge([1])  # type: ignore[arg-type]
    sessmgr.configure(max_storage_bytes=64)
    with pytest.raises(sessmgr.LimitExceededError):
        st["big"] = "x" * 100
    assert st.value() == {"a/b~c": [1, 2], "more": {"x": 1}}


def test_use_block_is_all_or_nothing():
    s = sessmgr.create_session()
    with s.storage.use() as data:
        if data.get("clientIP") is None:
            data["clientIP"] = {"value": "192.0.2.7"}
    assert s.storage["clientIP"] == {"value": "192.0.2.7"}
    with pytest.raises(RuntimeError):
        with s.storage.use() as data:
            data["clientIP"] = "changed"
            raise RuntimeError("the block failed")
    assert s.storage["clientIP"] == {"value": "192.0.2.7"}
    with pytest.raises(sessmgr.StorageConflictError):
        with s.storage.use() as data:
            s.storage["other"] = 1  # a write outside use() during the block
            data["clientIP"] = "lost?"
    assert s.storage["clientIP"] == {"value": "192.0.2.7"} and s.storage["other"] == 1


def test_modify_and_reentrancy():
    s = sessmgr.create_session()
    s.storage["n"] = 1
    s.storage.modify(lambda v: {**v, "n": v["n"] + 1})
    assert s.storage["n"] == 2
    s.storage.modify(lambda v: None)
    assert s.storage["n"] == 2

    def inner(v):
        s.storage["n"] = 99
        return v

    with pytest.raises(sessmgr.ReentrantError):
        s.storage.modify(inner)
    assert s.storage["n"] == 2


def test_context_manager_closes():
    with sessmgr.create_session("rest") as s:
        assert sessmgr.session_count() == 1
    assert sessmgr.session_count() == 0


def test_events_stats_and_files():
    seen = []
    sessmgr.set_event_handler(seen.append)
    s = sessmgr.create_session("remote", user_name="Guest", machine_name="Kiosk 1")
    s.identifier = "S1"
    s.attach_file("Survey", privset_name="[Data Entry Only]")
    files = sessmgr.clients_list()["response"]["clients"][0]["guestFiles"]
    assert files == [{"id": "1", "filename": "Survey", "accountName": "Guest", "privsetName": "[Data Entry Only]"}]
    s.detach_file("Survey")
    s.state = "sleeping"
    assert s.state == "sleeping"
    s.close()
    sessmgr.set_event_handler(None)
    assert [e["event"] for e in seen] == ["created", "identifierChanged", "fileAttached", "fileDetached",
                                          "stateChanged", "closed"]
    assert seen[1]["old"] == "Guest" and seen[1]["new"] == "S1"
    stats = sessmgr.stats()
    assert stats["created"] == 1 and stats["closed"] == 1 and stats["eventsDelivered"] == 6


def test_configure_and_errors():
    with pytest.raises(sessmgr.InvalidArgumentError):
        sessmgr.configure(max_sessionz=1)
    with pytest.raises(sessmgr.InvalidArgumentError):
        sessmgr.configure({"maxSessions": 0})
    with pytest.raises(sessmgr.InvalidArgumentError):
        sessmgr.create_session(colour="red")
    with pytest.raises(sessmgr.InvalidArgumentError) as raised:
        sessmgr.create_session(type="ftp")
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, sessmgr.SessmgrError)
    with pytest.raises(sessmgr.BadStateError):
        sessmgr.clock_advance(1)
    with pytest.raises(sessmgr.InvalidArgumentError):
        sessmgr.configure(activity_resolution_seconds=3601)
    sessmgr.configure(activity_resolution_seconds=0)
    sessmgr.configure(max_sessions=1, overload_policy="refuse")
    sessmgr.create_session()
    with pytest.raises(sessmgr.LimitExceededError):
        sessmgr.create_session()
    sessmgr.configure(overload_policy="evictGuests")
    sessmgr.create_session()  # the guest makes room
    assert sessmgr.version().count(".") == 2


def test_library_not_found_says_where_it_looked(tmp_path):
    env = dict(os.environ, SESSMGR_LIBRARY=str(tmp_path / "nowhere.so"), LD_LIBRARY_PATH="")
    result = subprocess.run([sys.executable, "-c", "import sessmgr"], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "LibraryNotFoundError" in result.stderr
    assert "nowhere.so" in result.stderr and "SESSMGR_LIBRARY" in result.stderr


def test_clients_by_number_messages_and_disconnection():
    s = sessmgr.create_session()
    client = s.client_id
    assert client > 0
    listed = sessmgr.clients_list()["response"]["clients"]
    assert [c["id"] for c in listed] == [str(client)]
    assert s.id not in json.dumps(listed)
    sessmgr.send_message(client, "The server restarts at noon.")
    assert [m["text"] for m in s.take_messages()] == ["The server restarts at noon."]
    assert s.take_messages() == []
    sessmgr.disconnect_client(client, "Please save your work.", grace_seconds=60)
    assert s.info["state"] == "disconnecting"
    notice = s.take_messages()[0]
    assert notice["text"] == "Please save your work." and "disconnectAt" in notice
    with pytest.raises(sessmgr.InvalidArgumentError):
        sessmgr.disconnect_client(client, grace_seconds=-1)
    with pytest.raises(sessmgr.NotFoundError):
        sessmgr.send_message(client + 1000, "nobody")
    sessmgr.disconnect_client(client)
    with pytest.raises(sessmgr.NotFoundError):
        s.touch()


def test_absolute_lifetime():
    from datetime import datetime, timedelta, timezone

    sessmgr.configure(clock="manual", max_lifetime=120)
    s = sessmgr.create_session()
    assert s.lifetime_end is not None
    assert s.expiration_date <= s.lifetime_end
    forever = sessmgr.create_session(max_lifetime=0)
    assert forever.lifetime_end is None
    end = datetime(2031, 5, 6, 7, 8, 9, 123000, tzinfo=timezone(timedelta(hours=2)))
    forever.lifetime_end = end
    assert forever.lifetime_end == end
    assert forever.lifetime_end.tzinfo == timezone.utc
    with pytest.raises(sessmgr.InvalidArgumentError):
        forever.lifetime_end = datetime(2031, 1, 1)
    with pytest.raises(sessmgr.InvalidArgumentError):
        forever.lifetime_end = end + timedelta(microseconds=1)
    assert forever.lifetime_end == end
    forever.lifetime_end = None
    assert forever.lifetime_end is None
    with pytest.raises(sessmgr.NotSupportedError):
        sessmgr.create_session("remote", max_lifetime=5)


def test_rotation_at_login():
    sessmgr.load_roles(SEED_ROLES)
    sessmgr.configure(clock="manual", rotation_grace_seconds=5)
    s = sessmgr.create_session()
    s.storage["cart"] = [1]
    old = s.id
    new = s.rotate_id({"privileges": ["medium"], "userName": "ann"})
    assert new == s.id != old
    assert s.has_privilege("simple") and s.user_name == "ann" and s.storage["cart"] == [1]
    assert sessmgr.Session(old).info["ID"] == new  # in its grace time
    sessmgr.clock_advance(6)
    with pytest.raises(sessmgr.NotFoundError):
        sessmgr.Session(old).touch()
    with pytest.raises(sessmgr.NotSupportedError):
        sessmgr.create_session("remote").rotate_id()


def test_one_time_passcodes():
    s = sessmgr.create_session()
    token = s.create_otp(60)
    assert len(token) == 32 and token != s.id
    assert sessmgr.restore(token) == s
    with pytest.raises(sessmgr.NotFoundError):
        sessmgr.restore(token)
    with pytest.raises(sessmgr.InvalidArgumentError):
        sessmgr.restore("not a token")
    with pytest.raises(sessmgr.NotSupportedError):
        sessmgr.create_session("rest").create_otp()


def test_a_users_sessions():
    sessmgr.configure(max_sessions_per_user=2, session_limit_policy="closeOldest")
    sessions = []
    for _ in range(3):
        s = sessmgr.create_session()
        s.set_privileges({"userName": "ann"})
        sessions.append(s)
    rows = sessmgr.user_sessions("ann")
    assert [row["id"] for row in rows] == [str(s.client_id) for s in sessions[1:]]
    assert all("lastActivity" in row for row in rows)
    with pytest.raises(sessmgr.NotFoundError):
        sessions[0].touch()
    assert sessmgr.user_close_sessions("ann") == 2
    assert sessmgr.user_sessions("ann") == []


def test_queries_filter_and_page():
    kiosks = []
    for n in range(12):
        s = sessmgr.create_session("remote", user_name="ann" if n % 3 == 0 else "bob",
                                   ip_address=f"192.0.{n % 2}.{n}")
        if n % 4 == 0:
            s.identifier = f"Kiosk-{n}"
        kiosks.append(s)
    sessmgr.create_session("standalone")
    ids = [str(s.client_id) for s in kiosks]

    page = sessmgr.clients_query()
    assert (page["total"], page["offset"], page["limit"]) == (12, 0, 100)
    assert [c["id"] for c in page["clients"]] == ids
    assert not any(s.id in json.dumps(page) for s in kiosks)
    page = sessmgr.clients_query(offset=3, limit=4)
    assert [c["id"] for c in page["clients"]] == ids[3:7] and page["total"] == 12
    assert [c["id"] for c in sessmgr.clients_query(search="KIOSK")["clients"]] == ids[0::4]
    assert sessmgr.clients_query(user_name="ann")["total"] == 4
    assert sessmgr.clients_query(user_name="ann", ip_address="192.0.1.")["total"] == 2
    assert sessmgr.clients_query(type="web")["total"] == 0
    sessions = sessmgr.sessions_query(type="standalone")
    assert sessions["total"] == 1 and sessions["sessions"][0]["type"] == "standalone"
    first = sessmgr.sessions_query(limit=1)["sessions"][0]
    assert first["clientId"] == kiosks[0].client_id and "ID" not in first

    with pytest.raises(sessmgr.InvalidArgumentError, match="from 0 to 10000"):
        sessmgr.clients_query(limit=10_001)
    with pytest.raises(sessmgr.InvalidArgumentError, match="unknown filter 'name'"):
        sessmgr.clients_query(name="ann")
    with pytest.raises(sessmgr.InvalidArgumentError):
        sessmgr.sessions_query(type="ftp")


def test_compare_and_set_and_increment_need_no_callback():
    with sessmgr.create_session() as web:
        storage = web.storage
        storage.compare_and_set("/cart", sessmgr.MISSING, {"b": 2, "a": [1]})
        # Equal as JSON: another order of members, 1.0 for 1.
        storage.compare_and_set("/cart", {"a": [1.0], "b": 2}, None)
        assert storage["cart"] is None
        with pytest.raises(sessmgr.ConflictError) as conflict:
            storage.compare_and_set("/cart", "secret", 1)
        assert "secret" not in str(conflict.value) and "null of 4 bytes" in str(conflict.value)
        storage.compare_and_set("/cart", None, sessmgr.MISSING)
        assert "cart" not in storage
        assert storage.increment("/n") == 1
        assert storage.increment("/n", -5) == -4
        storage["s"] = "1"
        with pytest.raises(sessmgr.ConflictError):
            storage.increment("/s")
        storage["big"] = 2**63 - 1
        with pytest.raises(sessmgr.LimitExceededError):
            storage.increment("/big")
        with pytest.raises(sessmgr.InvalidArgumentError):
            storage.increment("/n", 2**63)
        assert storage.value() == {"n": -4, "s": "1", "big": 2**63 - 1}

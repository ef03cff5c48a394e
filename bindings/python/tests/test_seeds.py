"""The seed documents' examples, in Python."""

import re

import sessmgr


def is_student_id_valid(student_id: str) -> bool:
    return re.fullmatch(r"S\d{7}", student_id) is not None


def test_student_survey_identifier():
    kiosks = [sessmgr.create_session("remote", user_name="Guest", machine_name=f"Kiosk {i}") for i in (1, 2)]
    for kiosk, entered in zip(kiosks, ["S1234567", "nope"]):
        if is_student_id_valid(entered):
            kiosk.identifier = entered
    assert [k.identifier for k in kiosks] == ["S1234567", ""]
    assert [k.user_name for k in kiosks] == ["Guest", "Guest"]
    names = [c["userName"] for c in sessmgr.clients_list()["response"]["clients"]]
    assert names == ["S1234567", "Guest"]


def test_action_session_web_admin():
    def action_session(session_id: str) -> str:
        if sessmgr.session_info(session_id) is None:
            return "4DACTION --> Session is null"
        session = sessmgr.Session(session_id)
        if session.has_privilege("WebAdmin"):
            return "4DACTION --> Session is WebAdmin"
        return "4DACTION --> Session is not WebAdmin"

    web = sessmgr.create_session()
    assert action_session(web.id) == "4DACTION --> Session is not WebAdmin"
    web.set_privileges({"privileges": ["WebAdmin"]})
    assert action_session(web.id) == "4DACTION --> Session is WebAdmin"
    web.close()
    assert action_session(web.id) == "4DACTION --> Session is null"


def test_guest_60_others_120():
    sessmgr.configure(clock="manual")
    guest, member = sessmgr.create_session(), sessmgr.create_session()
    member.set_privileges("WebAdmin")
    for session in (guest, member):
        session.idle_timeout = 60 if session.is_guest() else 120
    assert (guest.idle_timeout, member.idle_timeout) == (60, 120)
    sessmgr.clock_advance(60 * 60)
    assert sessmgr.session_info(guest.id) is None
    assert sessmgr.session_info(member.id) is not None


def test_client_ip_in_storage():
    web = sessmgr.create_session()
    for client_ip in ("192.0.2.10", "198.51.100.7"):
        if web.storage.get("clientIP") is None:  # first access
            with web.storage.use() as storage:
                storage["clientIP"] = {"value": client_ip}
    assert web.storage["clientIP"]["value"] == "192.0.2.10"


def test_remote_settings_in_storage():
    remote = sessmgr.create_session("remote", user_name="Designer")
    with remote.storage.use() as storage:
        storage["settings"] = {"property": "a", "property2": 2}
    assert remote.storage.at("/settings/property2") == 2


def test_session_info_example():
    s = sessmgr.create_session("remote", user_name="Designer", machine_name="My Computer",
                               system_user_name="John Doe", ip_address="localhost", host_type="mac",
                               persistent_id="8FFDAE519F1F4DCDB81E8E8DB00AD101")
    info = sessmgr.session_info(s.id)
    assert info["type"] == "remote"
    assert info["userName"] == "Designer"
    assert info["machineName"] == "My Computer"
    assert info["systemUserName"] == "John Doe"
    assert info["IPAddress"] == "localhost"
    assert info["hostType"] == "mac"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", info["creationDateTime"])
    assert info["state"] == "active"
    assert info["ID"] == s.id
    assert info["persistentID"] == "8FFDAE519F1F4DCDB81E8E8DB00AD101"

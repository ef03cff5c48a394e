"""A WSGI middleware that keeps each visitor's session in sessmgr (standard library only).

>>> from sessmgr.wsgi import SessionMiddleware, login, session_of
>>> def app(environ, start_response):
...     session = session_of(environ)            # a sessmgr.Session: a guest until login()
...     hits = session.storage.increment("/hits")
...     start_response("200 OK", [("Content-Type", "text/plain")])
...     return [f"{hits}\\n".encode()]
>>> application = SessionMiddleware(app, secure=True)   # behind TLS: the cookie is Secure

On each request the middleware reads the session cookie; a live session's ID gets that session
(touched: the idle timeout starts again), anything else (no cookie, an expired or unknown ID,
text that is no ID at all) a fresh web guest session, whose cookie the response sets. The
cookie is ``HttpOnly; SameSite=Lax; Path=/`` (``Secure`` with ``secure=True``). ``login()``
gives the session a grant and a new ID in one step (the rotation of SPEC section 10) and the
response carries the new cookie; ``logout()`` closes it and clears the cookie (call either
before ``start_response``, which is when the cookie is written). Nothing here logs or prints a
cookie or a session ID.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any, Callable, Iterable, Optional

from . import create_session
from .errors import InvalidArgumentError, NotFoundError
from .session import Privileges, Session

#: The environ key of the request's session.
ENVIRON_KEY = "sessmgr.session"
_STATE_KEY = "sessmgr.wsgi"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]


class _State:
    """What the middleware must do to the response: set the cookie, or clear it."""

    __slots__ = ("middleware", "set_cookie", "clear_cookie")

    def __init__(self, middleware: "SessionMiddleware") -> None:
        self.middleware = middleware
        self.set_cookie = False
        self.clear_cookie = False


class SessionMiddleware:
    """Wraps a WSGI application: ``environ["sessmgr.session"]`` is the visitor's session."""

    def __init__(
        self,
        app: WsgiApp,
        cookie_name: str = "sid",
        secure: bool = False,
        same_site: str = "Lax",
        session_type: str = "web",
    ) -> None:
        if same_site not in ("Lax", "Strict", "None"):
            raise InvalidArgumentError(f"SameSite must be Lax, Strict or None, not {same_site!r}", 2)
        if same_site == "None" and not secure:
            raise InvalidArgumentError("SameSite=None needs secure=True (browsers refuse it otherwise)", 2)
        if session_type not in ("web", "rest"):
            raise InvalidArgumentError(f"session_type must be web or rest, not {session_type!r}", 2)
        self.app = app
        self.cookie_name = cookie_name
        self.secure = secure
        self.same_site = same_site
        self.session_type = session_type

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        state = _State(self)
        environ[_STATE_KEY] = state
        environ[ENVIRON_KEY] = self._session(environ, state)

        def respond(status: str, headers: list, exc_info: Any = None) -> Any:
            session: Session = environ[ENVIRON_KEY]
            headers = [(k, v) for k, v in headers if not (k.lower() == "set-cookie" and self._is_ours(v))]
            if state.clear_cookie:
                headers.append(("Set-Cookie", self._cookie("", "; Max-Age=0")))
            elif state.set_cookie:
                headers.append(("Set-Cookie", self._cookie(session.id, "")))
            if state.set_cookie or state.clear_cookie:
                headers.append(("Cache-Control", "no-store"))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, respond)

    def _session(self, environ: dict, state: _State) -> Session:
        cookie = self._cookie_value(environ.get("HTTP_COOKIE", ""))
        if cookie is not None and len(cookie) <= 36:  # longer is no ID in any form
            try:
                session = Session(cookie)
                session.touch()
                return session
            except (NotFoundError, InvalidArgumentError):
                pass  # expired, unknown, or no ID at all: a new guest, and nothing said
        state.set_cookie = True
        return create_session(self.session_type, ip_address=environ.get("REMOTE_ADDR", ""))

    def _cookie_value(self, header: str) -> Optional[str]:
        cookies = SimpleCookie()
        try:
            cookies.load(header)
        except CookieError:
            return None
        morsel = cookies.get(self.cookie_name)
        return morsel.value if morsel is not None else None

    def _cookie(self, value: str, extra: str) -> str:
        secure = "; Secure" if self.secure else ""
        return f"{self.cookie_name}={value}; Path=/; HttpOnly; SameSite={self.same_site}{secure}{extra}"

    def _is_ours(self, header: str) -> bool:
        return header.split("=", 1)[0].strip() == self.cookie_name


def _state(environ: dict) -> _State:
    state = environ.get(_STATE_KEY)
    if not isinstance(state, _State):
        raise InvalidArgumentError("this environ did not pass through SessionMiddleware", 2)
    return state


def session_of(environ: dict) -> Session:
    """The request's session (the middleware put it in ``environ["sessmgr.session"]``)."""
    _state(environ)
    return environ[ENVIRON_KEY]


def login(environ: dict, privileges: Privileges) -> Session:
    """Signs the visitor in: the session gets ``privileges`` (as ``Session.set_privileges``
    takes them, ``{"privileges": [...], "userName": "ann"}``) and a new ID in one step, and the
    response sets the new cookie. The old ID is dead (or lives for ``rotationGraceSeconds``)."""
    state = _state(environ)
    session: Session = environ[ENVIRON_KEY]
    session.rotate_id(privileges)
    state.set_cookie = True
    state.clear_cookie = False
    return session


def logout(environ: dict) -> None:
    """Signs the visitor out: the session is closed and the response clears the cookie (the
    next request starts a new guest session)."""
    state = _state(environ)
    session: Session = environ[ENVIRON_KEY]
    try:
        session.close()
    except NotFoundError:
        pass  # ended meanwhile: logged out all the same
    state.clear_cookie = True
    state.set_cookie = False

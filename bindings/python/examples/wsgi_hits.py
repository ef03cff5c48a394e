from sessmgr.wsgi import SessionMiddleware, session_of


def app(environ, start_response):
    session = session_of(environ)  # this visitor's session: a guest until login(environ, ...)
    hits = session.storage.increment("/hits")  # atomic, no callback
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{hits}\n".encode()]


application = SessionMiddleware(app, secure=False)  # secure=True behind TLS

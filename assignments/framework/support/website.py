"""The grader's website, written with the student's framework (`framework.py`).

The grader serves `website:app` through wsgiref.validate with its runner; the suite then uses
the site like a browser. Every part of the framework's API is exercised here.
"""

import base64
import hashlib
import hmac
import html
import os
import threading

from framework import App, Response, redirect

app = App()
SECRET = os.urandom(16)  # signs the login cookie; new at each start
ITEMS = []
NOTE = {"text": ""}
LOCK = threading.Lock()


@app.route("/")
def index(request):
    return "<h1>Welcome</h1><p>A site built on the student's framework.</p>"


@app.route("/hello/<name>")
def hello(request, name):
    return f"Hello, {html.escape(name)}!"


@app.route("/add/<a>/<b>")
def add(request, a, b):
    return {"a": a, "b": b, "sum": int(a) + int(b)}  # int("x") raises: the framework says 500


@app.route("/search")
def search(request):
    return {"q": request.query.get("q", ""), "page": request.query.get("page", "1"),
            "method": request.method, "path": request.path}


@app.route("/params", methods=["GET", "POST"])
def params(request):
    return {"query": request.query, "form": request.form}


@app.route("/items", methods=["GET", "POST"])
def items(request):
    if request.method == "POST":
        with LOCK:
            ITEMS.append(request.form.get("name", ""))
        return redirect("/items")
    with LOCK:
        return {"items": list(ITEMS)}


@app.route("/echo-json", methods=["POST"])
def echo_json(request):
    return {"got": request.json, "method": request.method, "path": request.path}


@app.route("/headers")
def headers(request):
    h = request.headers
    return {"user_agent": h.get("User-Agent"), "content_type": h.get("content-type"),
            "custom": h.get("X-CUSTOM"), "custom_item": h["x-Custom"],
            "has_custom": "X-CUSTOM" in h}


@app.route("/robots.txt")
def robots(request):
    return Response("User-agent: *\nDisallow:\n", headers={"Content-Type": "text/plain"})


@app.route("/teapot")
def teapot(request):
    return Response("I'm a teapot", status=418,
                    headers={"Content-Type": "text/plain; charset=utf-8", "X-Tea": "earl grey"})


@app.route("/expired")
def expired(request):
    return Response("<p>page expired: reload the form</p>", status=419)  # not in HTTPStatus


@app.route("/old")
def old(request):
    return redirect("/new", status=301)


@app.route("/new")
def new(request):
    return "<p>the new page</p>"


@app.route("/note")
def get_note(request):
    return {"text": NOTE["text"]}


@app.route("/note", methods=["PUT"])
def put_note(request):
    NOTE["text"] = (request.json or {}).get("text", "")
    return Response("<p>saved</p>", status=201, headers={"X-Note-Length": str(len(NOTE["text"]))})


@app.route("/boom")
def boom(request):
    raise RuntimeError("a bug in a view")


@app.route("/counter")
def counter(request):
    visits = int(request.cookies.get("visits", "0")) + 1
    response = Response(f"<p>visits: {visits}</p>")
    response.set_cookie("visits", str(visits))
    return response


@app.route("/prefs")
def prefs(request):
    response = Response("<p>saved</p>")
    response.set_cookie("theme", "dark")
    response.set_cookie("lang", "fr", max_age=3600)
    return response


# -- a login kept in a cookie the site signs itself -------------------------------------------

PASSWORDS = {"ada": "lovelace", "grace": "hopper"}


def sign(user):
    token = base64.urlsafe_b64encode(user.encode()).decode()  # may end in '=' padding
    mac = hmac.new(SECRET, token.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{token}.{mac}"


def signed_user(value):
    token, _, mac = value.rpartition(".")
    good = hmac.new(SECRET, token.encode(), hashlib.sha256).hexdigest()[:32]
    if not token or not hmac.compare_digest(mac, good):
        return None
    return base64.urlsafe_b64decode(token.encode()).decode()


@app.route("/account/login", methods=["POST"])
def login(request):
    user, password = request.form.get("user", ""), request.form.get("password", "")
    if PASSWORDS.get(user) != password:
        return Response("<p>wrong user name or password</p>", status=401)
    response = redirect("/account/me", status=303)
    response.set_cookie("session", sign(user), path="/account", httponly=True)
    return response


@app.route("/account/me")
def me(request):
    user = signed_user(request.cookies.get("session", ""))
    if user is None:
        return Response("<p>not logged in</p>", status=401)
    return f"<p>logged in as {html.escape(user)}</p>"


@app.route("/account/logout", methods=["POST"])
def logout(request):
    response = redirect("/", status=303)
    response.set_cookie("session", "", path="/account", max_age=0, httponly=True)
    return response

# Bug: keeps the database in a shared in-memory SQLite (nothing in DATA_DIR): a restart loses every account.
import os
import secrets
import sqlite3
from urllib.parse import urlsplit

from flask import Flask, abort, g, jsonify, redirect, render_template, request, url_for
from werkzeug.security import check_password_hash, generate_password_hash

COOKIE = "session"
MIN_PASSWORD = 8
MAX_USERNAME = 64
# scrypt with a cost that keeps the test suite quick; werkzeug's default (N=32768) is stronger.
HASH_METHOD = "scrypt:16384:8:1"

DB_PATH = "file:auth?mode=memory&cache=shared"  # fast, and no files to manage

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id         TEXT PRIMARY KEY,
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL
);
"""

app = Flask(__name__)


# -- the database ------------------------------------------------------------------------------

def db() -> sqlite3.Connection:
    """One connection per request (sqlite3 connections must stay in their thread)."""
    if "db" not in g:
        g.db = sqlite3.connect(DB_PATH, uri=True, timeout=5)
        g.db.row_factory = sqlite3.Row
        g.db.execute("PRAGMA foreign_keys = ON")
    return g.db


@app.teardown_appcontext
def close_db(exc: BaseException | None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


KEEP = None  # the in-memory database lives as long as one connection to it is open


def init_db() -> None:
    global KEEP
    KEEP = sqlite3.connect(DB_PATH, uri=True, check_same_thread=False)
    KEEP.executescript(SCHEMA)
    KEEP.commit()


# -- sessions ----------------------------------------------------------------------------------

@app.before_request
def load_session() -> None:
    """g.session: this browser's session row (or None), g.user: its user (or None)."""
    g.session, g.user, g.set_cookie, g.clear_cookie = None, None, None, False
    sid = request.cookies.get(COOKIE)
    if sid:
        g.session = db().execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
    if g.session is not None and g.session["user_id"] is not None:
        g.user = db().execute("SELECT * FROM users WHERE id = ?",
                              (g.session["user_id"],)).fetchone()


def new_session(user_id: int | None) -> sqlite3.Row:
    """Replace this browser's session with a fresh one: new random id, new CSRF token."""
    if g.session is not None:
        db().execute("DELETE FROM sessions WHERE id = ?", (g.session["id"],))
    sid, token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    db().execute("INSERT INTO sessions (id, user_id, csrf_token) VALUES (?, ?, ?)",
                 (sid, user_id, token))
    db().commit()
    g.session = db().execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
    g.set_cookie = sid
    return g.session


def csrf_token() -> str:
    """The token for this session's forms; a visitor without a session gets a pre-login one."""
    session = g.session if g.session is not None else new_session(None)
    return session["csrf_token"]


def check_csrf() -> None:
    """Every state-changing form must send back its session's token: else 403."""
    sent = request.form.get("csrf_token", "")
    if g.session is None or not secrets.compare_digest(sent, g.session["csrf_token"]):
        abort(403, "missing or wrong CSRF token: reload the form and try again")


@app.after_request
def send_cookie(response):
    if g.get("set_cookie"):
        response.set_cookie(COOKIE, g.set_cookie, httponly=True, samesite="Lax", path="/")
    elif g.get("clear_cookie"):
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax")
    return response


# -- helpers -----------------------------------------------------------------------------------

def authenticate(username: object, password: object) -> sqlite3.Row | None:
    """The user with this username and password, or None. Placeholders, never string SQL."""
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    user = db().execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
    if user is None or not check_password_hash(user["password_hash"], password):
        return None
    return user


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None: never redirect off-site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ch.isspace() or ord(ch) < 32 for ch in target):
        return None  # browsers read /\evil.example and /<tab>/evil.example as //evil.example
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def form(template: str, status: int = 200, error: str | None = None, username: str = ""):
    return render_template(template, csrf_token=csrf_token(), error=error, username=username,
                           next=request.args.get("next", "")), status


# -- pages -------------------------------------------------------------------------------------

@app.get("/")
def index():
    return redirect(url_for("account"))


@app.get("/register")
def register_form():
    return form("register.html")


@app.post("/register")
def register():
    check_csrf()
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or len(username) > MAX_USERNAME:
        return form("register.html", 400, f"choose a username of 1 to {MAX_USERNAME} characters")
    if len(password) < MIN_PASSWORD:
        return form("register.html", 400,
                    f"the password needs at least {MIN_PASSWORD} characters", username)
    try:
        cur = db().execute("INSERT INTO users (username, password_hash) VALUES (?, ?)",
                           (username, generate_password_hash(password, method=HASH_METHOD)))
    except sqlite3.IntegrityError:  # the UNIQUE constraint: the name is taken
        return form("register.html", 409, f"the username {username!r} is taken")
    db().commit()
    new_session(cur.lastrowid)
    return redirect(url_for("account"))


@app.get("/login")
def login_form():
    return form("login.html")


@app.post("/login")
def login():
    check_csrf()
    username = request.form.get("username", "")
    user = authenticate(username, request.form.get("password", ""))
    if user is None:
        return form("login.html", 401, "wrong username or password", username)
    new_session(user["id"])  # a new id at login: a planted pre-login id is worth nothing
    return redirect(safe_next(request.args.get("next")) or url_for("account"))


@app.post("/logout")
def logout():
    check_csrf()
    db().execute("DELETE FROM sessions WHERE id = ?", (g.session["id"],))
    db().commit()
    g.session, g.user, g.clear_cookie = None, None, True
    return redirect(url_for("login_form"))


@app.get("/account")
def account():
    if g.user is None:
        return redirect(url_for("login_form", next=request.path))
    return render_template("account.html", user=g.user, csrf_token=csrf_token())


# -- JSON API (no form, so no CSRF token: it sets the same session cookie) ---------------------

@app.post("/api/login")
def api_login():
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) and data[k] for k in ("username", "password")):
        return jsonify(error="send JSON with a username and a password"), 400
    user = authenticate(data["username"], data["password"])
    if user is None:
        return jsonify(error="wrong username or password"), 401
    new_session(user["id"])
    return jsonify(username=user["username"])


@app.get("/api/me")
def api_me():
    if g.user is None:
        return jsonify(error="not logged in"), 401
    return jsonify(username=g.user["username"])


if __name__ == "__main__":
    init_db()
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8000")),
            threaded=True)

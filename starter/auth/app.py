"""Accounts with server-side sessions: your starting point (see the handout).

This runs and shows the forms, but nobody can register or log in yet. The TODOs say what is
missing; the handout says exactly how each route must answer.
"""

import os
import secrets
import sqlite3
from pathlib import Path

from flask import Flask, jsonify, redirect, render_template, request, url_for

COOKIE = "session"
DATA_DIR = Path(os.environ.get("DATA_DIR", "data"))  # writable, kept across restarts
DB_PATH = DATA_DIR / "auth.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL
);
-- TODO: a sessions table (the random id in the cookie, the user, the CSRF token)
"""

app = Flask(__name__)


def init_db() -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(DB_PATH)
    with conn:
        conn.executescript(SCHEMA)
    conn.close()


def csrf_token() -> str:
    # TODO: the token of this visitor's session (create a pre-login session when there is
    # none), not a new random value on every page.
    return secrets.token_urlsafe(32)


def form(template: str, status: int = 200, error: str | None = None):
    return render_template(template, csrf_token=csrf_token(), error=error, username="",
                           next=request.args.get("next", "")), status


@app.get("/")
def index():
    return redirect(url_for("account"))


@app.get("/register")
def register_form():
    return form("register.html")


@app.post("/register")
def register():
    # TODO: check the csrf_token (403), validate (400), insert the user with a password hash
    # (409 when the name is taken), start a session and redirect to /account.
    return form("register.html", 501, "registering is not implemented yet")


@app.get("/login")
def login_form():
    return form("login.html")


@app.post("/login")
def login():
    # TODO: check the csrf_token (403), check the password (401 with the form when wrong),
    # start a NEW session, redirect to a same-site ?next= or to /account.
    return form("login.html", 501, "logging in is not implemented yet")


@app.post("/logout")
def logout():
    # TODO: check the csrf_token, delete the session on the server, clear the cookie.
    return redirect(url_for("login_form"))


@app.get("/account")
def account():
    # TODO: show "Logged in as <username>" (and a logout form) to a logged-in user.
    return redirect(url_for("login_form", next=request.path))


@app.post("/api/login")
def api_login():
    # TODO: JSON {"username", "password"}: 400 when a field is missing, 401 when wrong,
    # 200 and the same session cookie as the form when right.
    return jsonify(error="not implemented yet"), 501


@app.get("/api/me")
def api_me():
    # TODO: 200 {"username": ...} for a logged-in user.
    return jsonify(error="not logged in"), 401


if __name__ == "__main__":
    init_db()
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8000")),
            threaded=True)

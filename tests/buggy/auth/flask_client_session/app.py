# Bug: keeps the login in Flask's built-in session (a signed cookie held by the browser), so a
# copy of the cookie taken before logout still works afterwards.
import os
import secrets
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, abort, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

DATA_DIR = Path(os.environ.get("DATA_DIR", "data"))
DB_PATH = DATA_DIR / "auth.sqlite3"

app = Flask(__name__)
app.secret_key = secrets.token_bytes(32)
app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")


def db():
    if "db" not in g:
        g.db = sqlite3.connect(DB_PATH, timeout=5)
        g.db.row_factory = sqlite3.Row
    return g.db


@app.teardown_appcontext
def close_db(exc):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def current_user():
    if "user_id" not in session:
        return None
    return db().execute("SELECT * FROM users WHERE id = ?", (session["user_id"],)).fetchone()


def csrf_token():
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf():
    sent = request.form.get("csrf_token", "")
    if "csrf" not in session or not secrets.compare_digest(sent, session["csrf"]):
        abort(403)


def log_in(user):
    session.clear()
    session["user_id"] = user["id"]
    session["csrf"] = secrets.token_urlsafe(32)


def authenticate(username, password):
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    user = db().execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
    if user is None or not check_password_hash(user["password_hash"], password):
        return None
    return user


def safe_next(target):
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def form(template, status=200, error=None, username=""):
    return render_template(template, csrf_token=csrf_token(), error=error, username=username,
                           next=request.args.get("next", "")), status


@app.get("/register")
def register_form():
    return form("register.html")


@app.post("/register")
def register():
    check_csrf()
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username:
        return form("register.html", 400, "choose a username")
    if len(password) < 8:
        return form("register.html", 400, "the password needs at least 8 characters", username)
    try:
        db().execute("INSERT INTO users (username, password_hash) VALUES (?, ?)",
                     (username, generate_password_hash(password, method="scrypt:16384:8:1")))
    except sqlite3.IntegrityError:
        return form("register.html", 409, "that username is taken")
    db().commit()
    log_in(db().execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone())
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
    log_in(user)
    return redirect(safe_next(request.args.get("next")) or url_for("account"))


@app.post("/logout")
def logout():
    check_csrf()
    session.clear()
    return redirect(url_for("login_form"))


@app.get("/account")
def account():
    user = current_user()
    if user is None:
        return redirect(url_for("login_form", next=request.path))
    return render_template("account.html", user=user, csrf_token=csrf_token())


@app.post("/api/login")
def api_login():
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not data.get("username") or not data.get("password"):
        return jsonify(error="username and password required"), 400
    user = authenticate(data["username"], data["password"])
    if user is None:
        return jsonify(error="wrong username or password"), 401
    log_in(user)
    return jsonify(username=user["username"])


@app.get("/api/me")
def api_me():
    user = current_user()
    if user is None:
        return jsonify(error="not logged in"), 401
    return jsonify(username=user["username"])


if __name__ == "__main__":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(DB_PATH)
    conn.execute("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, "
                 "username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL)")
    conn.commit()
    conn.close()
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8000")),
            threaded=True)

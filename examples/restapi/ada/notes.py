"""Notes API with SQLite's JSON: one table of (id, doc) rows, doc a JSON text.

Started by the Procfile through an app factory; the database lives in DATA_DIR.
"""

import json
import os
import sqlite3
import zlib
from urllib.parse import urlencode

from flask import Blueprint, Flask, g, jsonify, make_response, request

bp = Blueprint("notes", __name__)
SHAPE = {"title": str, "body": str, "tags": list, "pinned": bool}
LIMITS = {"title": (1, 200), "body": (0, 10000)}


class ApiError(Exception):
    def __init__(self, status, title, detail, **headers):
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers


def db():
    if "db" not in g:
        g.db = sqlite3.connect(os.path.join(os.environ["DATA_DIR"], "notes.sqlite3"))
        g.db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                     " doc TEXT NOT NULL)")
    return g.db


def load(note_id):
    row = note_id < 2**63 and db().execute("SELECT doc FROM notes WHERE id = ?",
                                           (note_id,)).fetchone()
    if not row:
        raise ApiError(404, "Not Found", f"no note has id {note_id}")
    return {"id": note_id, **json.loads(row[0])}


def tag_of(note):
    return f'W/"{zlib.crc32(json.dumps(note, sort_keys=True).encode()):08x}"'.removeprefix("W/")


def validate(doc, partial):
    if not isinstance(doc, dict):
        raise ApiError(422, "Unprocessable Content", "expected a JSON object")
    for key, value in doc.items():
        kind = SHAPE.get(key)
        if kind is None or type(value) is not kind:
            raise ApiError(422, "Unprocessable Content", f"bad field {key!r}")
        low, high = LIMITS.get(key, (0, 10**9))
        if isinstance(value, str) and not low <= len(value) <= high:
            raise ApiError(422, "Unprocessable Content", f"{key} has a bad length")
    tags = doc.get("tags", [])
    if len(tags) > 10 or any(not isinstance(t, str) or not 0 < len(t) <= 30 for t in tags):
        raise ApiError(422, "Unprocessable Content", "bad tags")
    if not partial and "title" not in doc:
        raise ApiError(422, "Unprocessable Content", "title is required")
    return doc


def body_of(partial=False):
    allowed = {"application/json"} | ({"application/merge-patch+json"} if partial else set())
    if request.mimetype not in allowed:
        raise ApiError(415, "Unsupported Media Type", "send JSON")
    try:
        doc = json.loads(request.get_data() or b"")
    except ValueError:
        raise ApiError(400, "Bad Request", "the body is not JSON") from None
    return validate(doc, partial)


def save(note_id, doc):
    clash = db().execute("SELECT id FROM notes WHERE json_extract(doc, '$.title') = ? AND id != ?",
                         (doc["title"], note_id or 0)).fetchone()
    if clash:
        raise ApiError(409, "Conflict", "that title is taken")
    text = json.dumps(doc)
    if note_id is None:
        note_id = db().execute("INSERT INTO notes (doc) VALUES (?)", (text,)).lastrowid
    else:
        db().execute("UPDATE notes SET doc = ? WHERE id = ?", (text, note_id))
    db().commit()
    return load(note_id)


def answer(note, status=200, **headers):
    response = make_response(jsonify(note), status)
    response.headers.update({"ETag": tag_of(note), **headers})
    return response


def check_if_match(note):
    given = request.headers.get("If-Match")
    if given and given != "*" and tag_of(note) not in {t.strip() for t in given.split(",")}:
        raise ApiError(412, "Precondition Failed", "stale ETag")


def number(name, default, low, high):
    text = request.args.get(name, str(default))
    if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
        raise ApiError(422, "Unprocessable Content", f"bad {name}")
    return int(text)


@bp.route("/notes", methods=["GET"])
def index():
    limit, offset = number("limit", 20, 1, 100), number("offset", 0, 0, 10**12)
    where, args = [], []
    if "tag" in request.args:
        where.append("EXISTS (SELECT 1 FROM json_each(doc, '$.tags') WHERE value = ?)")
        args.append(request.args["tag"])
    if "pinned" in request.args:
        if request.args["pinned"] not in ("true", "false"):
            raise ApiError(422, "Unprocessable Content", "bad pinned")
        where.append("json_extract(doc, '$.pinned') = ?")
        args.append(1 if request.args["pinned"] == "true" else 0)
    sql = "FROM notes" + (" WHERE " + " AND ".join(where) if where else "")
    total = db().execute(f"SELECT COUNT(*) {sql}", args).fetchone()[0]
    rows = db().execute(f"SELECT id, doc {sql} ORDER BY id LIMIT ? OFFSET ?",
                        [*args, limit, offset]).fetchall()
    keep = {k: v for k, v in request.args.items() if k in ("tag", "pinned")}
    links = []
    for rel, start in (("next", offset + limit), ("prev", max(offset - limit, 0))):
        if (rel == "next" and start < total) or (rel == "prev" and offset > 0):
            query = urlencode({**keep, "limit": limit, "offset": start})
            links.append(f'<{request.base_url}?{query}>; rel="{rel}"')
    response = jsonify({"notes": [{"id": i, **json.loads(d)} for i, d in rows], "total": total})
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


@bp.route("/notes", methods=["POST"])
def create():
    doc = {"body": "", "tags": [], "pinned": False, **body_of()}
    note = save(None, doc)
    return answer(note, 201, Location=f"/notes/{note['id']}")


@bp.route("/notes/<int:note_id>", methods=["GET"])
def show(note_id):
    note = load(note_id)
    if tag_of(note) in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return "", 304, {"ETag": tag_of(note)}
    return answer(note)


@bp.route("/notes/<int:note_id>", methods=["PUT", "PATCH"])
def change(note_id):
    note = load(note_id)
    partial = request.method == "PATCH"
    doc = body_of(partial)
    check_if_match(note)
    old = {k: v for k, v in note.items() if k != "id"}
    new = {**old, **doc} if partial else {"body": "", "tags": [], "pinned": False, **doc}
    return answer(save(note_id, new))


@bp.route("/notes/<int:note_id>", methods=["DELETE"])
def remove(note_id):
    check_if_match(load(note_id))
    db().execute("DELETE FROM notes WHERE id = ?", (note_id,))
    db().commit()
    return "", 204


def create_app():
    app = Flask(__name__)
    app.register_blueprint(bp)

    @app.errorhandler(ApiError)
    def api_error(exc):
        return problem(exc.status, exc.title, exc.detail, exc.headers)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def http_error(exc):
        allow = {"Allow": exc.valid_methods and ", ".join(exc.valid_methods)} \
            if getattr(exc, "valid_methods", None) else {}
        return problem(exc.code, exc.name, exc.description, allow)

    @app.teardown_appcontext
    def close(_exc):
        conn = g.pop("db", None)
        if conn is not None:
            conn.close()

    return app


def problem(status, title, detail, headers):
    response = make_response(json.dumps({"type": "about:blank", "title": title,
                                         "status": status, "detail": detail}), status)
    response.headers.update(headers)
    response.mimetype = "application/problem+json"
    return response

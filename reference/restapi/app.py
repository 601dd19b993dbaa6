"""Notes: a JSON API over TinyDB that keeps the course's OpenAPI contract (the model solution).

Deployed as a platform runs it: the Procfile's `web: gunicorn app:app`, gunicorn binding the port
in PORT. The notes live in DATA_DIR/notes.json, never next to the code.
"""

import hashlib
import json
import os
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response, request, url_for
from tinydb import Query, TinyDB
from werkzeug.exceptions import HTTPException

app = Flask(__name__)
db = TinyDB(Path(os.environ.get("DATA_DIR", ".")) / "notes.json")
notes = db.table("notes")

DEFAULTS = {"body": "", "tags": [], "pinned": False}
FIELDS = ("title", "body", "tags", "pinned")


class Problem(Exception):
    """An error answered as an RFC 9457 problem document."""

    def __init__(self, status, detail, headers=None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def problem(status, title, detail, headers=None):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(json.dumps(body), status, headers or {},
                    content_type="application/problem+json")


@app.errorhandler(Problem)
def on_problem(exc):
    from http import HTTPStatus
    return problem(exc.status, HTTPStatus(exc.status).phrase, exc.detail, exc.headers)


@app.errorhandler(HTTPException)
def on_http_error(exc):
    headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
    return problem(exc.code, exc.name, exc.description, headers)


def as_json(note):
    return {"id": note.doc_id, **{f: note[f] for f in FIELDS}}


def etag(note):
    return '"' + hashlib.sha256(json.dumps(as_json(note), sort_keys=True).encode())\
        .hexdigest()[:16] + '"'


def send(note, status=200, headers=None):
    return Response(json.dumps(as_json(note)), status,
                    {"ETag": etag(note), **(headers or {})}, content_type="application/json")


def read_body(patch=False):
    """The request's JSON object, checked: 415, 400 or 422 as problems."""
    types = ("application/json", "application/merge-patch+json") if patch else \
        ("application/json",)
    if request.mimetype not in types:
        raise Problem(415, f"send JSON with Content-Type {' or '.join(types)}")
    try:
        data = json.loads(request.get_data(as_text=True))
    except ValueError as exc:
        raise Problem(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Problem(422, "the body must be a JSON object")
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise Problem(422, f"unknown fields: {', '.join(sorted(unknown))}")
    if not patch and "title" not in data:
        raise Problem(422, "title is required")
    check(data)
    return data


def check(data):
    if "title" in data and not (isinstance(data["title"], str) and 1 <= len(data["title"]) <= 200):
        raise Problem(422, "title must be a string of 1 to 200 characters")
    if "body" in data and not (isinstance(data["body"], str) and len(data["body"]) <= 10000):
        raise Problem(422, "body must be a string of at most 10000 characters")
    tags = data.get("tags", [])
    if not (isinstance(tags, list) and len(tags) <= 10
            and all(isinstance(t, str) and 1 <= len(t) <= 30 for t in tags)):
        raise Problem(422, "tags must be a list of at most 10 strings of 1 to 30 characters")
    if "pinned" in data and not isinstance(data["pinned"], bool):
        raise Problem(422, "pinned must be true or false")


def title_taken(title, but=None):
    return any(n.doc_id != but for n in notes.search(Query().title == title))


def find(note_id):
    note = notes.get(doc_id=note_id)
    if note is None:
        raise Problem(404, f"there is no note {note_id}")
    return note


def precondition(note):
    """If-Match: the change goes ahead only on the version the client has (412 otherwise)."""
    wanted = request.headers.get("If-Match")
    if wanted is not None and wanted.strip() != "*" and etag(note) not in \
            [t.strip() for t in wanted.split(",")]:
        raise Problem(412, "the note changed since you read it (If-Match does not match its "
                      "ETag): read it again")


def query_int(name, default, low, high=None):
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(422, f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise Problem(422, f"{name} must be between {low} and {high or 'any'}")
    return value


@app.route("/notes", methods=["GET", "POST"])
def all_notes():
    if request.method == "POST":
        data = {**DEFAULTS, **read_body()}
        if title_taken(data["title"]):
            raise Problem(409, f"a note titled {data['title']!r} already exists")
        note = find(notes.insert(data))
        return send(note, 201, {"Location": url_for("one_note", note_id=note.doc_id)})
    limit, offset = query_int("limit", 20, 1, 100), query_int("offset", 0, 0)
    filters = {}
    if "tag" in request.args:
        filters["tag"] = request.args["tag"]
    if "pinned" in request.args:
        if request.args["pinned"] not in ("true", "false"):
            raise Problem(422, "pinned must be true or false")
        filters["pinned"] = request.args["pinned"]
    found = [n for n in sorted(notes.all(), key=lambda n: n.doc_id)
             if ("tag" not in filters or filters["tag"] in n["tags"])
             and ("pinned" not in filters or n["pinned"] == (filters["pinned"] == "true"))]
    links = []
    if offset + limit < len(found):
        links.append(page_link(filters, limit, offset + limit, "next"))
    if offset > 0:
        links.append(page_link(filters, limit, max(0, offset - limit), "prev"))
    body = {"notes": [as_json(n) for n in found[offset:offset + limit]], "total": len(found)}
    return Response(json.dumps(body), 200, {"Link": ", ".join(links)} if links else {},
                    content_type="application/json")


def page_link(filters, limit, offset, rel):
    return f'</notes?{urlencode({**filters, "limit": limit, "offset": offset})}>; rel="{rel}"'


@app.route("/notes/<int:note_id>", methods=["GET", "PUT", "PATCH", "DELETE"])
def one_note(note_id):
    note = find(note_id)
    if request.method == "GET":
        wanted = request.headers.get("If-None-Match", "")
        if etag(note) in [t.strip() for t in wanted.split(",")] or wanted.strip() == "*":
            return Response(status=304, headers={"ETag": etag(note)})
        return send(note)
    if request.method == "DELETE":
        precondition(note)
        notes.remove(doc_ids=[note_id])
        return Response(status=204)
    data = read_body(patch=request.method == "PATCH")
    precondition(note)
    new = {**DEFAULTS, **data} if request.method == "PUT" else {**note, **data}
    if title_taken(new["title"], but=note_id):
        raise Problem(409, f"another note is titled {new['title']!r}")
    notes.update(new, doc_ids=[note_id])
    return send(find(note_id))

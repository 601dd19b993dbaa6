"""Notes API: your starting point.

It runs (`gunicorn app:app`, as the Procfile says) and lists notes, but keeps them in memory and
does little else: read handout.md and openapi.yaml, then build the rest.
"""

from flask import Flask, jsonify, request

app = Flask(__name__)
notes = []  # TODO: a TinyDB file in DATA_DIR


@app.get("/notes")
def list_notes():
    return jsonify({"notes": notes, "total": len(notes)})


@app.post("/notes")
def create_note():
    note = {"id": len(notes) + 1, **request.get_json()}  # TODO: check it, defaults, 201...
    notes.append(note)
    return jsonify(note)

"""Books: a Flask site and JSON API over a SQLite database.

Run it with `python app.py`; it listens on the port in PORT and keeps its database in the
directory named by DATA_DIR. Read handout.md for what it must do, then check your work with
`grader check`.
"""

import os
import sqlite3
from pathlib import Path

from flask import Flask, render_template

app = Flask(__name__)

# The database lives in DATA_DIR: the code folder is read-only when your app is graded.
DB_PATH = Path(os.environ.get("DATA_DIR", "data")) / "books.db"

# The five books to add, with the ids id1..id5, when the database is first created.
SEED = [
    ("CherryPy Essentials", "978-1904811848", "Sylvain Hellegouarch", "Packt Publishing"),
    ("Python for Software Design", "978-0521725965", "Allen B. Downey",
     "Cambridge University Press"),
    ("Foundations of Python Network Programming", "978-1430230038", "John Goerzen", "Apress"),
    ("Python Cookbook, Second Edition", "978-0-596-00797-3",
     "Alex Martelli, Anna Ravenscroft, David Ascher", "O'Reilly Media"),
    ("The Pragmatic Programmer: From Journeyman to Master", "978-0201616224",
     "Andrew Hunt, David Thomas", "Addison-Wesley"),
]


def init_db() -> None:
    """Create the database and add the five books, the first time only."""
    DB_PATH.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(DB_PATH)
    # TODO: create the books table (a UNIQUE isbn helps) and insert SEED when it is new.
    #       Use ? placeholders in every query: never build SQL with f-strings.
    conn.close()


@app.get("/books/")
def index():
    # TODO: read the books from the database instead of this one hard-coded title.
    books = [{"id": "id1", "title": "CherryPy Essentials"}]
    return render_template("index.html", books=books)


# TODO: GET /books/<id> (404 for an unknown id), the new/edit forms, POST /books/,
#       POST /books/<id>/edit and /delete, and the JSON API under /api/books (see handout.md).


if __name__ == "__main__":
    init_db()
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8000")), threaded=True)

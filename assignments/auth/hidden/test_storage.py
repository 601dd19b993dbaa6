"""Hidden tests that look at the data: accounts survive a restart, no plaintext passwords.

Both are marked `late` (conftest.py runs them after every other test), so the passwords search
covers every password the whole run sent.
"""

import base64

import pytest
from conftest import (
    PASSWORDS,
    REDIRECTS,
    REGISTERED,
    login,
    new_password,
    register,
    shows_user,
    unique,
)


@pytest.mark.late
@pytest.mark.points(1)
def test_accounts_survive_restart(server, client):
    """Accounts are kept in DATA_DIR: after a restart the user can still log in"""
    name, password = unique("zoe"), new_password()
    register(client(), name, password)
    server.restart()
    jar = client()
    resp = login(jar, name, password, check=False)
    assert resp.status_code in REDIRECTS and shows_user(jar, name), (
        f"after a server restart, logging in as {name!r} answered {resp.status_code}: keep "
        "the accounts in a database in DATA_DIR")


@pytest.mark.late
@pytest.mark.points(2)
def test_passwords_not_stored_in_plain_text(server):
    """No password the tests used appears in plain text in the files in DATA_DIR"""
    files = server.data_files()
    assert files, "DATA_DIR is empty: keep the SQLite database in the DATA_DIR folder"
    assert REGISTERED, "no registration succeeded before this test"
    assert any(name.encode() in data for name in REGISTERED for data in files.values()), (
        "none of the registered usernames is in the files in DATA_DIR: keep the database "
        "there")
    for path, data in files.items():
        for password in PASSWORDS:
            for shown, needle in (("as plain text", password.encode()),
                                  ("base64-encoded", base64.b64encode(password.encode()))):
                assert needle not in data, (
                    f"a password appears {shown} in DATA_DIR/{path}: store a salted hash "
                    "(werkzeug.security.generate_password_hash), never the password")

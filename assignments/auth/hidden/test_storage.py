"""Hidden test that looks at the data: no plaintext passwords in DATA_DIR.

Marked `late` (conftest.py runs it after every other test), so the search covers every password
the whole run sent.

(No restart test yet: the docker backend keeps DATA_DIR in a tmpfs volume, which is emptied
when its container is removed, so `server.restart()` loses the data there.)
"""

import base64

import pytest
from conftest import PASSWORDS, REGISTERED


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

"""Hidden tests: scripts that misbehave, large bodies both ways, no shell, HEAD, HTTP/1.0."""

import hashlib
import json
import random
import secrets
import select
import time

import pytest
from conftest import LIMIT, report, script_ran


@pytest.mark.points(2)
def test_bad_output_500(client, check_status):
    """Output that is not a CGI response (no header lines, nothing, a bad Status) gets 500"""
    for script, how, why in (
            ("garbage.py", "its first line is not 'Name: value'", "a script's output must "
             "start with header lines and a blank line"),
            ("silent.py", "it writes nothing", "a script's output must start with header lines "
             "and a blank line"),
            ("badstatus.py", "it writes 'Status: 2000 OK'", "a Status line's code has three "
             "digits, and this one has four")):
        what = f"GET /cgi-bin/{script} ({how}, exit code 0)"
        try:
            response = client.fetch(f"/cgi-bin/{script}", what=what)
        except AssertionError as err:  # no status line ('HTTP/1.1 2000 OK' is none): say why
            raise AssertionError(f"{err}; expected 500: {why}") from None
        check_status(response, 500, what, why)
        assert b"garbage output" not in response.body and b"four digits" not in response.body, (
            f"{what}: the script's output is in the response; send a 500 page of your own")


@pytest.mark.points(3)
def test_hung_script_504(client, check_status):
    """A script that takes 2 s gets its page; one still running after 5 s is killed, and 504"""
    response = client.slow("/cgi-bin/slow.py", seconds=LIMIT * 3)
    check_status(response, 200, "GET /cgi-bin/slow.py (sleeps 2 s, then answers)",
                 "a script may run for 5 s before it is stopped")
    assert b"slow but in time" in response.body, (
        f"GET /cgi-bin/slow.py: expected the script's page, got {response.body[:60]!r}")
    token = secrets.token_hex(8)
    what = "GET /cgi-bin/hang.py (a script that never finishes)"
    response = client.slow(f"/cgi-bin/hang.py?{token}", seconds=LIMIT * 3, what=what)
    check_status(response, 504, what)
    for _ in range(20):  # the kill may land just after the response
        response = client.fetch(f"/cgi-bin/alive.py?{token}")
        script_ran(response, "GET /cgi-bin/alive.py (does hang.py still run?)")
        alive = json.loads(response.body[response.body.find(b"{"):])
        if not alive["alive"]:
            break
        time.sleep(0.1)
    assert alive.get("pid") is not None, (
        f"{what}: the script never started (alive.py found no pid file it writes first)")
    assert not alive["alive"], (
        f"{what}: the 504 came, but the script (pid {alive['pid']}) still runs: kill it when "
        "its time is up (Popen.kill()), then wait for it")


@pytest.mark.points(2)
def test_others_served_while_script_hangs(client, connect):
    """While a script hangs, other clients (a file, another script) are served at once"""
    sock = connect(LIMIT * 3)
    sock.sendall(client.request(f"/cgi-bin/hang.py?{secrets.token_hex(8)}"))
    try:
        for target in ("/hello.txt", "/cgi-bin/echo.py"):
            response = client.fetch(target, timeout=3, what=f"GET {target} while "
                                    "/cgi-bin/hang.py runs for another client")
            assert response.status == 200, (
                f"GET {target} while a script hangs for another client: expected 200, got "
                f"{response.status}: serve each client in a thread of its own")
    finally:  # the hung script's 504, so that it holds up no later test
        select.select([sock], [], [], LIMIT * 3)


@pytest.mark.points(2)
def test_large_body_on_stdin(client):
    """A 1 MiB binary POST body reaches the script's stdin whole"""
    body = random.Random(7).randbytes(1 << 20)
    what = "POST /cgi-bin/echo.py with a 1 MiB binary body"
    data = client.echo("/cgi-bin/echo.py", "POST", body=body, what=what, timeout=15,
                       headers={"Content-Type": "application/octet-stream"})
    length = data["environ"].get("CONTENT_LENGTH")
    assert length == str(len(body)), (
        f"{what}: CONTENT_LENGTH is {length!r}, expected {len(body)}")
    got = data["stdin"]["length"]
    assert got == len(body), (
        f"{what}: the script read {got} bytes from stdin, expected {len(body)}: " + (
            "write the body to the script's stdin (stdin=PIPE, communicate(body))" if not got
            else "read the body until you have Content-Length bytes (it arrives in many "
            "pieces), then give it all"))
    assert data["stdin"]["sha256"] == hashlib.sha256(body).hexdigest(), (
        f"{what}: the script read {got} bytes, but not the bytes sent: pass the body unchanged")


@pytest.mark.points(2)
def test_large_output(client, check_status):
    """A script that writes 3 MiB: every byte arrives, with the right Content-Length"""
    expected = bytes(range(256)) * 256 * 48
    what = "GET /cgi-bin/big.py (writes 3 MiB)"
    response = client.fetch("/cgi-bin/big.py", what=what, timeout=15)
    check_status(response, 200, what, "a 504: the script was taken for a hung one, but it "
                 "was blocked writing: a pipe holds some 64 KiB until it is read, so read the "
                 "output while the script runs (communicate()), never wait() first"
                 if response.status == 504 else "")
    if len(response.body) >= len(expected):
        why = "the body should be what the script wrote after its blank line, not its header lines"
    elif response.content_length() == len(expected):  # counted whole, then sent in part
        why = ("the body was counted whole but cut short on the way: one send() may send only "
               "part of what it is given; sendall() sends it all")
    else:
        why = "read the script's output to its end while it runs (communicate()), not one read"
    assert response.body == expected, (
        f"{what}: got {len(response.body)} bytes of body, expected {len(expected)} "
        f"(Content-Length said {response.headers.get('content-length')}): {why}")


@pytest.mark.points(3)
def test_no_shell(client):
    """A query string with ';' or '$(...)' runs no command (scripts run without a shell)"""
    for query in ("x;pwd", "$(pwd)", "a=1;pwd;b=2"):
        target = f"/cgi-bin/echo.py?{query}"
        what = f"GET {target}"
        response = client.fetch(target, what=what)
        assert b"/" not in response.body.rpartition(b"}")[2], (
            f"{what}: the output of the shell command 'pwd' follows the script's: the query "
            "string ran a command: run scripts without a shell (a list, never shell=True)")
        data = report(response, what)
        assert data["environ"].get("QUERY_STRING") == query, (
            f"{what}: QUERY_STRING is {data['environ'].get('QUERY_STRING')!r}, expected {query!r}")
        odd = [arg for arg in data["argv"] if arg not in query]
        assert not odd, (
            f"{what}: the script's arguments are {data['argv']!r}: '$(pwd)' was run by a shell: "
            "run scripts without a shell (a list, never shell=True)")


@pytest.mark.points(1)
def test_head_to_script(client, check_status):
    """HEAD to a script: the same status and headers as GET, and no body"""
    what = "HEAD /cgi-bin/notfound.py"
    response = client.fetch("/cgi-bin/notfound.py", "HEAD", what=what, timeout=3)
    check_status(response, 404, what, "the script runs for HEAD too; only its body is dropped")
    assert response.headers.get("x-probe") == "notfound", (
        f"{what}: expected the script's headers, as for GET (X-Probe: notfound)")
    assert not response.body, (
        f"{what}: expected the head only, got {len(response.body)} bytes of body after it")

"""Public tests: the meta-variables a script finds in its environment (RFC 3875 section 4.1)."""

import pytest
from conftest import report


def _check(environ: dict, wanted: dict, what: str) -> None:
    wrong = [f"{name}={environ[name]!r} (expected {value!r})" if name in environ
             else f"no {name} (expected {value!r})"
             for name, value in wanted.items() if environ.get(name) != value]
    assert not wrong, f"{what}: the script's environment has " + "; ".join(wrong)


@pytest.mark.points(2)
def test_script_runs(client):
    """GET /cgi-bin/echo.py runs the script and sends its output, never its source"""
    response = client.fetch("/cgi-bin/echo.py")
    assert b"#!/usr/bin/env python3" not in response.body, (
        "GET /cgi-bin/echo.py: the body is the script's source code: run the executable files "
        "under /cgi-bin/ and send what they write, never the file itself")
    data = report(response, "GET /cgi-bin/echo.py")
    assert data["argv"] == [], (
        f"GET /cgi-bin/echo.py: the script got arguments {data['argv']!r}; run it with none")


@pytest.mark.points(2)
def test_request_variables(client):
    """REQUEST_METHOD, QUERY_STRING (as sent), SCRIPT_NAME, SERVER_PROTOCOL (1.1 and 1.0), ..."""
    target = "/cgi-bin/echo.py?name=Ada+Lovelace&tag=a%26b&empty="
    environ = client.echo(target)["environ"]
    _check(environ, {"REQUEST_METHOD": "GET", "QUERY_STRING": "name=Ada+Lovelace&tag=a%26b&empty=",
                     "SCRIPT_NAME": "/cgi-bin/echo.py", "SERVER_PROTOCOL": "HTTP/1.1",
                     "GATEWAY_INTERFACE": "CGI/1.1"},
           f"GET {target}")
    assert environ.get("SERVER_SOFTWARE"), (
        f"GET {target}: SERVER_SOFTWARE should name your server, got "
        f"{environ.get('SERVER_SOFTWARE')!r}")
    assert environ.get("PATH_INFO", "") == "", (
        f"GET {target}: nothing follows the script's name, so PATH_INFO should be empty, got "
        f"{environ['PATH_INFO']!r}")
    environ = client.echo("/cgi-bin/echo.py", version="HTTP/1.0")["environ"]
    _check(environ, {"QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.0"},
           "GET /cgi-bin/echo.py HTTP/1.0 (no query: QUERY_STRING is set, and empty)")


@pytest.mark.points(1)
def test_path_info(client):
    """What follows the script's name is PATH_INFO, percent-decoded: /cgi-bin/echo.py/a/b%20c"""
    target = "/cgi-bin/echo.py/reports/2026/summer%20term?page=2"
    _check(client.echo(target)["environ"],
           {"SCRIPT_NAME": "/cgi-bin/echo.py", "PATH_INFO": "/reports/2026/summer term",
            "QUERY_STRING": "page=2"}, f"GET {target}")


@pytest.mark.points(2)
def test_http_variables(client):
    """Every request header is an HTTP_* variable: X-Probe-Token -> HTTP_X_PROBE_TOKEN"""
    headers = {"X-Probe-Token": "tok-81c3", "Accept-Language": "fr-CH, fr;q=0.9",
               "Cookie": "session=abc; theme=dark"}
    environ = client.echo("/cgi-bin/echo.py", headers=headers)["environ"]
    _check(environ, {"HTTP_X_PROBE_TOKEN": "tok-81c3", "HTTP_ACCEPT_LANGUAGE": "fr-CH, fr;q=0.9",
                     "HTTP_COOKIE": "session=abc; theme=dark",
                     "HTTP_USER_AGENT": "course-grader"},
           "GET /cgi-bin/echo.py with X-Probe-Token, Accept-Language and Cookie headers")


@pytest.mark.points(2)
def test_server_variables(client):
    """SERVER_NAME is the Host header's name, SERVER_PORT the port you listen on, REMOTE_ADDR"""
    environ = client.echo("/cgi-bin/echo.py", host="cgi.example.test:8080")["environ"]
    _check(environ, {"SERVER_NAME": "cgi.example.test", "SERVER_PORT": str(client.server.port),
                     "REMOTE_ADDR": client.local_addr},
           "GET /cgi-bin/echo.py with 'Host: cgi.example.test:8080'")


@pytest.mark.points(2)
def test_post_body_on_stdin(client):
    """A POST's body is on the script's stdin, with CONTENT_LENGTH and CONTENT_TYPE"""
    body = b"name=Ada+Lovelace&note=caf%C3%A9"
    what = "POST /cgi-bin/echo.py with a form"
    data = client.echo("/cgi-bin/echo.py", "POST", body=body, what=what,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    _check(data["environ"], {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)),
                             "CONTENT_TYPE": "application/x-www-form-urlencoded"}, what)
    assert data["stdin"]["text"] == body.decode(), (
        f"{what}: the script read {data['stdin']['text']!r} from stdin, expected the body "
        f"{body.decode()!r}")

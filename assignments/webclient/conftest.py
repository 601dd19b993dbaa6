"""Helpers shared by the public and hidden webclient tests: the JSON object the program printed
(`result`), what the course's site served (`site`) and every request it answered (`seen`).

The plugin's `program` fixture runs the student's program once for the whole suite; each test
then judges one rule of the handout, from the result, from the site's log, or both. A test that
judges manners (robots.txt, the User-Agent, Retry-After) first asks for evidence that the
program did the work (`fetched`): a program that sends nothing breaks no rule, and earns nothing.
"""

import json

import pytest

from grader.core.text import printable

FIRST_PAGE = "/catalogue/"


@pytest.fixture
def result(program) -> dict:
    """The JSON object the program printed on stdout; fails with the line that says why not."""
    return result_of(program)


def result_of(program) -> dict:
    """`result`, for a test that judges the site's log first (its line names the cause)."""
    if program.capped:  # its own line: how the cap showed (an error, a signal) varies
        raise AssertionError(f"your program {program.ended}: print only the JSON object "
                             "there, and any debugging output on standard error")
    if program.exit_code is None:
        raise AssertionError(f"your program {program.ended}: a crawler must stop once it has "
                             "seen every page (keep a set of the pages visited)")
    if program.exit_code != 0:
        cause = program.cause or "it printed nothing on stderr"
        raise AssertionError(f"your program {program.ended}: {printable(cause)}")
    text = program.stdout.decode("utf-8", "replace").strip()
    try:
        value = json.loads(text)
    except ValueError:
        shown = printable(text[:80]) if text else "nothing"
        raise AssertionError("your program's standard output must be one JSON object, and only "
                             f"that; it printed {shown!r}") from None
    if not isinstance(value, dict):
        raise AssertionError(f"your program printed JSON, but a {type(value).__name__}, not an "
                             "object with keys items, order and reviews")
    return value


@pytest.fixture
def site(program) -> dict:
    """What the site served on this run (its first line): items, the reorder, review ids."""
    assert program.site.get("ready"), "the course's site did not say what it served"
    return program.site


@pytest.fixture
def seen(program) -> list[dict]:
    """Every request the site (both origins) answered, in order."""
    return program.requests


def on_main(seen: list[dict]) -> list[dict]:
    return [r for r in seen if r["site"] == "main"]


def fetched(seen: list[dict], path: str, what: str) -> None:
    """Fail unless the site answered a request for `path`: the evidence a rule needs."""
    assert any(r["path"] == path for r in on_main(seen)), \
        f"your program never requested {path}, so {what} could not be checked"


def items_by_sku(result: dict) -> dict[str, dict]:
    items = result.get("items")
    assert isinstance(items, list) and all(isinstance(i, dict) for i in items), \
        "the result's `items` must be a list of objects {\"sku\", \"name\", \"price\"}"
    return {str(i.get("sku")): i for i in items}


def check_names(result: dict, site: dict, names: list[str], why: str) -> None:
    """The items named (as the site serves them) are in the result with exactly that name."""
    got = items_by_sku(result)
    for sku, want in site["items"].items():
        if want["name"] not in names:
            continue
        assert sku in got, f"item {sku} ({want['name']!r}) is missing from your result"
        name = got[sku].get("name")
        assert name == want["name"], f"item {sku} is named {want['name']!r} on the site, your " \
                                     f"result says {printable(str(name))!r}: {why}"


def describe(request: dict) -> str:
    return f"{request['method']} {request['path']}"

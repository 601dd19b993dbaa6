"""Public tests: the contract (openapi.yaml), checked by schemathesis.

Each test generates requests for one operation from the document, valid ones and invalid ones,
sends them and checks every answer against the document: no 5xx, only documented statuses and
Content-Types, bodies and headers as documented, invalid requests refused with a 4xx.
Deterministic: the same requests in the same order at every run (derandomized, no database),
at most EXAMPLES of each kind, not shrunk (the first failure found is reported).
"""

import secrets

import pytest
import requests
import schemathesis
from conftest import OPENAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SCHEMA = schemathesis.openapi.from_path(OPENAPI)
# Generated requests per operation, valid and invalid ones: about 1 to 3 s idle
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 25}
NOT_OBJECTS = [[], 7, "note"]  # JSON bodies of the wrong type: a 4xx, never a 500
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]


def check_operation(http, method: str, path: str) -> None:
    """Send one operation's requests, generated and fixed, over the `http` session (its
    timeout counts the server's time, not the machine's load); fail with the first broken rule.

    On /notes/{id} every request names a note this test made, so each reaches the code behind
    the id (random ids would nearly all be 404s) and the outcome does not depend on which notes
    earlier tests left. Bodies that are JSON but not objects go first, every run.

    The first failure is kept and the rest of the run does nothing: Hypothesis would replay a
    failing example to confirm it, and against a server with state (a title taken since) the
    replay may pass, which it reports as a "flaky" test instead of the student's bug."""
    operation = SCHEMA[path][method]
    pinned = {"id": own_note(http)} if "{id}" in path else None
    failures: list[str | requests.RequestException] = []

    def attempt(case) -> None:
        if failures:
            return
        try:
            response = case.call(base_url=http.server.url, session=http, timeout=5,
                                 allow_redirects=False)
        except requests.RequestException as exc:  # raised below, made readable by the grader
            failures.append(exc)
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as exc:
            failures.append(explain(response, exc))

    if method in ("POST", "PUT", "PATCH"):
        for body in NOT_OBJECTS:
            attempt(operation.Case(path_parameters=pinned, body=body,
                                   media_type="application/json"))
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned))
        @settings(max_examples=EXAMPLES[mode], derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], print_blob=False,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            attempt(case)

        try:
            run()
        except Unsatisfiable:  # nothing of the request can be made invalid (GET with its id)
            assert mode is GenerationMode.NEGATIVE
    if failures and isinstance(failures[0], requests.RequestException):
        raise failures[0]
    assert not failures, failures[0]


def own_note(http) -> int:
    """The id of a note made for this test (1 when the server cannot make one yet)."""
    title = f"Contract {secrets.token_hex(4)}"
    try:
        note = http.post("/notes", json={"title": title}, timeout=5).json()
    except (requests.RequestException, ValueError):
        return 1
    return note["id"] if isinstance(note, dict) and isinstance(note.get("id"), int) else 1


def explain(response, exc: BaseException) -> str:
    """One line: the rule broken and the request that broke it."""
    failures = list(exc.exceptions) if isinstance(exc, FailureGroup) else [exc]
    title = "; ".join(sorted({getattr(f, "title", str(f)) for f in failures}))  # a stable order
    request = response.request
    body = request.body.decode(errors="replace") if isinstance(request.body, bytes) \
        else (request.body or "")
    sent = f"{request.method} {request.path_url}"
    if body:
        sent += f" with {request.headers.get('Content-Type', 'no Content-Type')} body " \
                f"{body[:100]!r}"
    return f"{title} (status {response.status_code}) for {sent}"


@pytest.mark.points(2)
def test_contract_list_notes(http):
    """GET /notes keeps the contract for generated queries"""
    check_operation(http, "GET", "/notes")


@pytest.mark.points(2)
def test_contract_create_note(http):
    """POST /notes keeps the contract for generated bodies"""
    check_operation(http, "POST", "/notes")


@pytest.mark.points(2)
def test_contract_get_note(http):
    """GET /notes/{id} keeps the contract for generated ids and headers"""
    check_operation(http, "GET", "/notes/{id}")


@pytest.mark.points(2)
def test_contract_replace_note(http):
    """PUT /notes/{id} keeps the contract for generated bodies"""
    check_operation(http, "PUT", "/notes/{id}")


@pytest.mark.points(2)
def test_contract_update_note(http):
    """PATCH /notes/{id} keeps the contract for generated bodies"""
    check_operation(http, "PATCH", "/notes/{id}")


@pytest.mark.points(2)
def test_contract_delete_note(http):
    """DELETE /notes/{id} keeps the contract for generated ids and headers"""
    check_operation(http, "DELETE", "/notes/{id}")

"""Hidden tests: conditional requests, query errors and data that survives a restart."""

import pytest
from conftest import expect, json_of, problem


@pytest.mark.points(2)
def test_if_none_match_gives_304(http, add_note):
    """GET with If-None-Match of the note's ETag answers 304 with no body"""
    note = add_note()
    r = http.get(f"/notes/{note['id']}")
    tag = r.headers.get("ETag")
    assert tag, f"GET /notes/{note['id']}: the 200 has no ETag header"
    again = http.get(f"/notes/{note['id']}", headers={"If-None-Match": tag})
    expect(again, 304, f"GET with If-None-Match: {tag} (the note's ETag, unchanged)")
    assert again.content == b"", "a 304 has no body"
    changed = http.get(f"/notes/{note['id']}", headers={"If-None-Match": '"not-its-etag"'})
    expect(changed, 200, "GET with If-None-Match of another ETag")


@pytest.mark.points(2)
def test_etag_changes_with_the_note(http, add_note, tag):
    """The ETag changes when the note changes, and a stale If-None-Match gets the new note"""
    note = add_note()
    old = http.get(f"/notes/{note['id']}").headers.get("ETag")
    r = http.patch(f"/notes/{note['id']}", json={"body": f"changed {tag}"})
    expect(r, 200, "PATCH /notes/<id>")
    new = r.headers.get("ETag")
    assert new and new != old, (
        f"the ETag must change when the note does: {old!r} before PATCH, {new!r} after")
    got = http.get(f"/notes/{note['id']}", headers={"If-None-Match": old})
    expect(got, 200, "GET with the ETag from before the change")
    assert got.headers.get("ETag") == new, "GET gives another ETag than the PATCH answered"


@pytest.mark.points(3)
def test_if_match_refuses_stale_changes(http, add_note, tag):
    """PUT, PATCH and DELETE with an If-Match that is not the note's ETag answer 412 and
    change nothing; with the right ETag (alone or in a list) they go ahead"""
    note = add_note()
    current = http.get(f"/notes/{note['id']}").headers.get("ETag")
    stale = {"If-Match": '"stale-etag"'}
    problem(http.put(f"/notes/{note['id']}", json={"title": f"Lost {tag}"}, headers=stale),
            412, "PUT with a stale If-Match")
    problem(http.patch(f"/notes/{note['id']}", json={"body": "lost"}, headers=stale),
            412, "PATCH with a stale If-Match")
    problem(http.delete(f"/notes/{note['id']}", headers=stale), 412,
            "DELETE with a stale If-Match")
    assert json_of(http.get(f"/notes/{note['id']}"), "GET") == note, (
        "a request refused with 412 must change nothing")
    listed = {"If-Match": f'"stale-etag", {current}'}
    r = http.patch(f"/notes/{note['id']}", json={"body": "kept"}, headers=listed)
    expect(r, 200, f"PATCH with If-Match: {listed['If-Match']} (a list that has the current ETag)")
    r = http.delete(f"/notes/{note['id']}", headers={"If-Match": r.headers.get("ETag", "")})
    expect(r, 204, "DELETE with If-Match of the ETag the PATCH answered")


def test_bad_query_is_422(http):
    """GET /notes with limit, offset or pinned out of range answers 422 (and the bounds
    themselves are fine)"""
    for query in ("limit=0", "limit=101", "limit=ten", "offset=-1", "pinned=maybe"):
        problem(http.get(f"/notes?{query}"), 422, f"GET /notes?{query}")
    for query in ("limit=1&offset=0", "limit=100"):
        expect(http.get(f"/notes?{query}"), 200, f"GET /notes?{query} (in range)")


def test_unknown_path_is_a_404_problem(http):
    """A path the API does not have answers 404 as a problem document"""
    problem(http.get("/no/such/path"), 404, "GET /no/such/path")


@pytest.mark.points(3)
def test_data_survives_restart(server, http, add_note, tag):
    """Notes, changes and deletions survive a restart of the server (kept in DATA_DIR)"""
    kept, changed, gone = add_note(), add_note(), add_note()
    r = http.patch(f"/notes/{changed['id']}", json={"body": f"after {tag}"})
    expect(r, 200, "PATCH before the restart")
    changed = json_of(r, "PATCH")
    expect(http.delete(f"/notes/{gone['id']}"), 204, "DELETE before the restart")
    server.restart()
    for note in (kept, changed):
        r = http.get(f"/notes/{note['id']}")
        assert r.status_code == 200 and json_of(r, "GET after restart") == note, (
            f"after a restart GET /notes/{note['id']} gave status {r.status_code} "
            f"{r.text[:100]!r}, expected {note}: keep the notes in DATA_DIR")
    problem(http.get(f"/notes/{gone['id']}"), 404, "GET of a note deleted before the restart")
    assert server.data_files(), "no file in DATA_DIR: keep the notes there"

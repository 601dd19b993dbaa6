"""Public tests: what the contract cannot say, through hand-written requests."""

import pytest
from conftest import expect, json_of, media_type, problem


@pytest.mark.points(2)
def test_create_answers_201_with_location(http, tag):
    """POST /notes answers 201 with the note, its Location and an ETag"""
    tags = [tag, *(f"t{i}" for i in range(9))]  # ten, the most a note may have
    sent = {"title": f"Created {tag}", "body": "first", "tags": tags, "pinned": True}
    r = http.post("/notes", json=sent)
    expect(r, 201, "POST /notes with a valid note")
    got = json_of(r, "POST /notes")
    assert isinstance(got, dict) and isinstance(got.get("id"), int), (
        f"POST /notes: expected the new note with its integer \"id\", got {str(got)[:120]}")
    assert {k: got.get(k) for k in sent} == sent, (
        f"POST /notes returned {got}, expected the fields that were sent")
    location = r.headers.get("Location", "")
    assert location.endswith(f"/notes/{got['id']}"), (
        f"POST /notes: the 201 needs Location: /notes/{got['id']}, got {location!r}")
    assert r.headers.get("ETag"), "POST /notes: the 201 has no ETag header"
    again = http.get(f"/notes/{got['id']}")
    assert again.status_code == 200 and json_of(again, "GET the new note") == got, (
        f"GET /notes/{got['id']} does not return the note that was just created")


def test_defaults_for_fields_left_out(http, tag):
    """POST /notes with only a title gives body "", tags [] and pinned false"""
    r = http.post("/notes", json={"title": f"Bare {tag}"})
    expect(r, 201, "POST /notes with only a title")
    got = json_of(r, "POST /notes")
    assert {k: got.get(k) for k in ("body", "tags", "pinned")} == \
        {"body": "", "tags": [], "pinned": False}, (
            f"POST /notes with only a title: expected the defaults body \"\", tags [] and "
            f"pinned false, got {got}")


def test_unknown_note_is_a_404_problem(http):
    """GET /notes/<id> of no note answers 404 as a problem document"""
    problem(http.get("/notes/987654321"), 404, "GET /notes/987654321 (no such note)")


@pytest.mark.points(2)
def test_delete_answers_204(http, add_note):
    """DELETE /notes/<id> answers 204 with no body; the note is gone (404)"""
    note = add_note()
    r = http.delete(f"/notes/{note['id']}")
    expect(r, 204, f"DELETE /notes/{note['id']}")
    assert r.content == b"", f"DELETE: a 204 has no body, got {r.content[:60]!r}"
    problem(http.get(f"/notes/{note['id']}"), 404, "GET of a deleted note")
    problem(http.delete(f"/notes/{note['id']}"), 404, "DELETE of a deleted note")


def test_wrong_method_is_405_with_allow(http, add_note):
    """A method a path does not have answers 405 with Allow, as a problem document"""
    note = add_note()
    for method, path, allowed in (("DELETE", "/notes", {"GET", "POST"}),
                                  ("POST", f"/notes/{note['id']}",
                                   {"GET", "PUT", "PATCH", "DELETE"})):
        r = http.request(method, path)
        problem(r, 405, f"{method} {path}")
        got = {m.strip().upper() for m in r.headers.get("Allow", "").split(",") if m.strip()}
        assert allowed <= got, (
            f"{method} {path}: the 405 needs Allow naming {', '.join(sorted(allowed))}, got "
            f"{r.headers.get('Allow')!r}")


@pytest.mark.points(2)
def test_invalid_note_is_a_422_problem(http, tag):
    """POST /notes answers 422 (a problem document) for a note that breaks the schema"""
    for body, why in (({}, "no title"), ({"title": ""}, "an empty title"),
                      ({"title": 7}, "a title that is a number"),
                      ({"title": f"T {tag}", "tags": "x"}, "tags that are not a list"),
                      ({"title": f"T {tag}", "pinned": "yes"}, "pinned that is not a boolean"),
                      ({"title": f"T {tag}", "colour": "red"}, "an unknown field"),
                      ([f"T {tag}"], "a list instead of an object")):
        problem(http.post("/notes", json=body), 422, f"POST /notes with {why}")


def test_not_json_is_415(http, tag):
    """POST /notes with a body that is not application/json answers 415"""
    r = http.post("/notes", data=f"title=Form {tag}",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    problem(r, 415, "POST /notes with a form body (Content-Type application/x-www-form-urlencoded)")


def test_malformed_json_is_400(http, tag):
    """POST /notes with JSON that does not parse answers 400, not 500"""
    r = http.post("/notes", data='{"title": "Broken ' + tag,
                  headers={"Content-Type": "application/json"})
    problem(r, 400, "POST /notes with a body that is not valid JSON")


def test_duplicate_title_is_409(http, add_note):
    """POST or PUT with the title of another note answers 409"""
    first, second = add_note(), add_note()
    problem(http.post("/notes", json={"title": first["title"]}), 409,
            "POST /notes with the title of another note")
    problem(http.put(f"/notes/{second['id']}", json={"title": first["title"]}), 409,
            "PUT /notes/<id> with the title of another note")


@pytest.mark.points(2)
def test_put_replaces_and_is_idempotent(http, add_note, tag):
    """PUT replaces the whole note (fields left out take their defaults); twice is the same"""
    note = add_note(body="old body", pinned=True)
    new = {"title": f"Replaced {tag}", "tags": ["replaced"]}
    first = http.put(f"/notes/{note['id']}", json=new)
    expect(first, 200, "PUT /notes/<id> with a valid note")
    want = {"id": note["id"], "title": new["title"], "body": "", "tags": ["replaced"],
            "pinned": False}
    assert json_of(first, "PUT") == want, (
        f"PUT replaces the note: fields left out take their defaults; expected {want}, got "
        f"{first.text[:160]}")
    second = http.put(f"/notes/{note['id']}", json=new)
    expect(second, 200, "the same PUT again")
    assert json_of(second, "PUT again") == want, "the same PUT twice must give the same note"
    assert json_of(http.get(f"/notes/{note['id']}"), "GET after PUT") == want, (
        "GET after PUT does not return the replaced note")


@pytest.mark.points(2)
def test_patch_merges(http, add_note, tag):
    """PATCH changes only the fields it sends (a merge), with application/merge-patch+json
    or application/json"""
    note = add_note(body="kept body", pinned=True)
    r = http.patch(f"/notes/{note['id']}", data='{"title": "Patched ' + tag + '"}',
                   headers={"Content-Type": "application/merge-patch+json"})
    expect(r, 200, "PATCH /notes/<id> with application/merge-patch+json")
    want = {**note, "title": f"Patched {tag}"}
    assert json_of(r, "PATCH") == want, (
        f"PATCH sent only a title: the other fields must stay; expected {want}, got "
        f"{r.text[:160]}")
    r = http.patch(f"/notes/{note['id']}", json={"pinned": False})
    expect(r, 200, "PATCH /notes/<id> with application/json")
    assert json_of(r, "PATCH") == {**want, "pinned": False}, (
        f"PATCH sent only pinned: expected {({**want, 'pinned': False})}, got {r.text[:160]}")
    problem(http.patch(f"/notes/{note['id']}", json={"title": ""}), 422,
            "PATCH with an empty title")


@pytest.mark.points(2)
def test_filters(http, add_note, tag):
    """GET /notes?tag=... and ?pinned=true|false list only the matching notes, with their total"""
    a, b = add_note(pinned=True), add_note(pinned=False)
    add_note(tags=[tag + "x"])
    for query, want in ((f"tag={tag}", [a, b]), (f"tag={tag}&pinned=true", [a]),
                        (f"tag={tag}&pinned=false", [b])):
        r = http.get(f"/notes?{query}")
        expect(r, 200, f"GET /notes?{query}")
        body = json_of(r, f"GET /notes?{query}")
        got = [n.get("id") for n in body.get("notes", [])] if isinstance(body, dict) else body
        assert got == [n["id"] for n in want], (
            f"GET /notes?{query}: expected the notes {[n['id'] for n in want]} (oldest first), "
            f"got {got}")
        assert body.get("total") == len(want), (
            f"GET /notes?{query}: \"total\" must count the matching notes ({len(want)}), got "
            f"{body.get('total')!r}")


@pytest.mark.points(2)
def test_pagination_links(http, add_note, tag):
    """GET /notes pages with limit and offset, and a Link header with rel="next" and
    rel="prev" that keep the filters"""
    ids = [add_note()["id"] for _ in range(5)]
    url, seen, pages = f"/notes?tag={tag}&limit=2", [], 0
    while url and pages < 5:
        r = http.get(url)
        expect(r, 200, f"GET {url}")
        body = json_of(r, f"GET {url}")
        seen += [n["id"] for n in body["notes"]]
        assert body.get("total") == 5, f"GET {url}: \"total\" is {body.get('total')!r}, not 5"
        if pages < 2:
            assert "next" in r.links, (
                f"GET {url}: page {pages + 1} of 3 needs a Link header with rel=\"next\", got "
                f"{r.headers.get('Link')!r}")
        if pages == 2:
            assert "next" not in r.links, (
                f"GET {url}: the last page has no rel=\"next\", got {r.headers.get('Link')!r}")
        if pages == 0:
            assert "prev" not in r.links, (
                f"GET {url}: the first page has no rel=\"prev\", got {r.headers.get('Link')!r}")
        else:
            assert "prev" in r.links, (
                f"GET {url}: page {pages + 1} needs a Link header with rel=\"prev\", got "
                f"{r.headers.get('Link')!r}")
        nxt = r.links.get("next", {}).get("url")
        url, pages = nxt and requests_join(r.url, nxt), pages + 1
    assert seen == ids, (
        f"following Link rel=\"next\" from /notes?tag={tag}&limit=2 gave the notes {seen}, "
        f"expected {ids} (Link: {r.headers.get('Link')!r})")
    assert pages == 3, f"5 notes, 2 a page: expected 3 pages, followed {pages}"
    assert media_type(r) == "application/json"


def requests_join(base, link):
    from urllib.parse import urljoin
    return urljoin(base, link)

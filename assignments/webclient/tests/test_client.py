"""The public tests: the program's result, and what the site saw while it ran."""

import re

import pytest
from conftest import (
    FIRST_PAGE,
    check_names,
    describe,
    fetched,
    items_by_sku,
    on_main,
    result_of,
)


@pytest.mark.points(1)
def test_prints_one_json_object(result) -> None:
    """The program exits with code 0 and prints one JSON object with items, order and reviews"""
    missing = [k for k in ("items", "order", "reviews") if k not in result]
    assert not missing, f"the JSON object your program printed lacks {', '.join(missing)}"


@pytest.mark.points(3)
def test_every_item_exactly_once(result, site) -> None:
    """Every item of the catalogue is reported exactly once, and nothing else"""
    skus = [str(i.get("sku")) for i in result.get("items") or [] if isinstance(i, dict)]
    items_by_sku(result)
    twice = sorted({s for s in skus if skus.count(s) > 1})
    assert not twice, f"item {twice[0]} is reported {skus.count(twice[0])} times: an item " \
                      "listed on two pages is still one item (use its SKU)"
    wrong = [s for s in skus if s in site["not_items"]]
    assert not wrong, f"item {wrong[0]} ({site['not_items'][wrong[0]]!r}) is not in the " \
                      "catalogue: it is on a page robots.txt disallows, on another site, on " \
                      "an error page (404), or inside an HTML comment"
    missing = [s for s in site["items"] if s not in skus]
    assert not missing, f"{len(missing)} of the catalogue's {len(site['items'])} items are " \
                        f"missing, e.g. {missing[0]} ({site['items'][missing[0]]['name']!r})"
    unknown = [s for s in skus if s not in site["items"]]
    assert not unknown, f"item {unknown[0]!r} is not an item of the catalogue"


@pytest.mark.points(1)
def test_names_and_prices_as_shown(result, site) -> None:
    """Names and prices are the text shown, whitespace trimmed (the price a string, "3.20")"""
    got = items_by_sku(result)
    plain = ["Green tea", "Oat biscuits", "Apple juice", "Rye bread", "Goat cheese", "Honey",
             "Olive oil", "Sea salt", "Black pepper"]
    check_names(result, site, plain, "the text of its name element, trimmed")
    for sku, want in site["items"].items():
        if want["name"] in plain:
            assert got[sku].get("price") == want["price"], \
                f"item {sku} costs {want['price']!r} on the site, your result says " \
                f"{got[sku].get('price')!r}: report the price as the text shown"


@pytest.mark.points(2)
def test_robots_txt_read_first_and_obeyed(seen, site) -> None:
    """robots.txt is read before any page, and no disallowed page is requested"""
    main = on_main(seen)
    fetched(seen, FIRST_PAGE, "robots.txt")
    assert main[0]["path"] == "/robots.txt", \
        f"your program's first request was {describe(main[0])}: read /robots.txt first"
    bad = [r for r in main if any(r["path"].startswith(p) for p in site["disallowed"])]
    assert not bad, f"your program requested {bad[0]['path']}, which robots.txt disallows"


@pytest.mark.points(1)
def test_stays_on_the_site(seen, site) -> None:
    """Links to another site (another scheme, host or port) are not followed"""
    fetched(seen, "/catalogue/page-2.html", "which links it follows")
    other = [r for r in seen if r["site"] == "other"]
    assert not other, f"your program requested {site['other']}{other[0]['path']}: that is " \
                      "another site; follow only links to SITE_URL's scheme, host and port"


@pytest.mark.points(1)
def test_user_agent_names_the_program(seen) -> None:
    """Every request sends the same User-Agent, NAME/VERSION naming the program"""
    fetched(seen, FIRST_PAGE, "its User-Agent")
    agents = {r["headers"].get("user-agent", "") for r in seen}
    for agent in sorted(agents):
        assert agent, "a request was sent without a User-Agent header"
        assert not re.match(r"(python-requests|python-urllib|python-httpx|curl|wget)\b", agent,
                            re.I), f"User-Agent {agent!r} names your library, not your program"
        assert re.match(r"[A-Za-z][\w.-]*/\S", agent), \
            f"User-Agent {agent!r} is not NAME/VERSION (e.g. catalogue-bot/1.0)"
    assert len(agents) == 1, f"your requests sent {len(agents)} different User-Agents: " \
                             f"{sorted(agents)[:2]}; send one for the whole run"


@pytest.mark.points(1)
def test_a_few_requests_at_a_time(seen, site) -> None:
    """No more than 4 requests are in flight at a time"""
    fetched(seen, site["aisles"][0], "how many requests it sends at a time")
    worst = max(seen, key=lambda r: r["inflight"])
    assert worst["inflight"] <= 4, \
        f"your program had {worst['inflight']} requests in flight at once ({describe(worst)} " \
        "among them): keep to at most 4 at a time"


@pytest.mark.points(2)
def test_waits_as_retry_after_says(seen, site) -> None:
    """After a 429, the page is asked again only once Retry-After seconds have passed"""
    page = site["throttled"]
    fetched(seen, page, "how it answers a 429")
    asked = [r for r in on_main(seen) if r["path"] == page]
    first = next((r for r in asked if r["status"] == 429), None)
    assert first is not None, f"the first request for {page} was not answered 429"
    again = [r for r in asked if r["t"] > first["t"]]
    assert again, f"{page} was answered 429 with Retry-After: {site['retry_after']}, and your " \
                  "program never asked for it again: wait, then retry"
    waited = again[0]["t"] - first["t"]
    assert waited >= site["retry_after"] - 0.1, \
        f"{page} was answered 429 with Retry-After: {site['retry_after']}, and your program " \
        f"asked again {waited:.2f} s later: wait that many seconds before retrying"


@pytest.mark.points(3)
def test_logs_in_and_places_the_reorder(program, seen) -> None:
    """It logs in through the form (CSRF token, session cookie) and places the reorder"""
    checks = [r.get("check") for r in on_main(seen) if r["method"] == "POST"]
    assert "no session" not in checks, "the login form was posted without the session cookie " \
        "the form's page set: keep cookies for the whole run (a requests.Session)"
    assert "bad csrf" not in checks, "a form was posted without its page's csrf_token"
    assert "bad login" not in checks, "the login was refused: wrong username or password"
    assert "wrong order" not in checks, "the order form was refused (422): post the sku and " \
        "quantity the account page shows, whitespace trimmed"
    assert "logged in" in checks, "your program never logged in (POST /account/login)"
    placed = [r["order"] for r in on_main(seen) if r.get("order")]
    assert placed, "no order was placed: after logging in, post the order form of " \
                   "/account/ with the reorder's sku and quantity"
    assert len(placed) == 1, f"{len(placed)} orders were placed: place the reorder once"
    result = result_of(program)
    assert result.get("order") == placed[0], \
        f"the site confirmed order {placed[0]}, your result's order is " \
        f"{result.get('order')!r}: the text of #order-id, whitespace trimmed"


@pytest.mark.points(2)
def test_reads_every_review_from_the_api(program, seen, site) -> None:
    """Every review id from the JSON API, following `next` links, with the bearer token"""
    refused = [r for r in on_main(seen) if r["path"].startswith("/api/reviews")
               and r["status"] == 401]
    assert not refused, "a request to /api/reviews was refused (401): send the token as " \
                        "Authorization: Bearer <token>"
    got = result_of(program).get("reviews")
    want = site["reviews"]
    assert isinstance(got, list), "the result's `reviews` must be a list of review ids"
    assert got == want, f"the API has {len(want)} reviews, your result lists {len(got)}" + (
        "" if len(got) != len(want) else " in another order or with other ids") + \
        ": follow each page's `next` link (relative or absolute) until it is null"

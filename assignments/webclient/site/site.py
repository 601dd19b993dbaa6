"""The course's site that a student's web client crawls (the webclient assignment).

Run by the grader beside the student's program, where only the program reaches it, with PORT,
HOST and SITE_URL. Standard library only. It prints one JSON line once it listens (what it
serves: the truth the suite checks the program's result against; SKUs, tokens and order ids are
new on every run, so no answer can be written down ahead), then one JSON line per request it
answers, before the response goes out: method, path, headers, body, status, the time and how many
requests were in flight when it came (a request stops counting before its answer is sent, so a
client that waits for each answer is counted one at a time, however loaded the machine). A second site ("other", another origin) serves the off-site links.

What it probes (each rule is in the handout): a paginated catalogue (relative and absolute
links, a <base>, a link with a #fragment, duplicate links, a 404 whose page shows an item, a
301, an off-site link, a robots.txt-disallowed page, an item listed twice, a 429 with
Retry-After, names and prices padded with whitespace, a Latin-1 page, a windows-1250 page whose
charset only its <meta> declares, broken markup with entities and a commented-out item), a
login form with a CSRF token tied to a session cookie then an order form, and a JSON API with
a bearer token and `next` links. The first page also links six slow aisle pages side by side: a
client that sends every link at once has them in flight together.
"""

import html
import json
import os
import random
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, HOST = int(os.environ["PORT"]), os.environ.get("HOST", "127.0.0.1")
URL = os.environ.get("SITE_URL") or f"http://127.0.0.1:{PORT}"
USER, PASSWORD = "student", "correct horse battery staple"
RETRY_AFTER = 2  # seconds, for the first request of the throttled page
PAGE_429 = "/catalogue/shelf/page-3.html"
MAX_LOGGED = 3000  # requests; past this the site answers 503 and logs no more (a flood)
AISLES = [f"/catalogue/aisle-{n}.html" for n in range(1, 7)]  # linked side by side from page 1
SLOW = 0.3  # s an aisle takes to answer: requests sent together overlap there, whatever the load
START = time.monotonic()
_rng = random.Random()
_lock = threading.Lock()
_state = {"logged": 0, "inflight": 0, "first_429": None}
_sessions: dict[str, dict] = {}  # sid -> {"csrf", "user"}
_tokens: set[str] = set()


# name, price per page; SKUs drawn per run
PAGES = {
    "p1": [("Green tea", "3.20"), ("Oat biscuits", "2.10"), ("Apple juice", "1.80")],
    "p2": [("Rye bread", "2.90"), ("Goat cheese", "5.40"), ("Honey", "6.00")],
    "p3": [("Olive oil", "8.75"), ("Sea salt", "1.20"), ("Black pepper", "2.30")],
    "p4": [("Crème brûlée", "4.10"), ("Smørrebrød", "7.20"), ("Açaí bowl", "6.60")],
    "p5": [("Knödel", "5.10"), ("Ćevapi", "8.30"), ("Pâté", "4.40")],  # all in windows-1250
    "p6": [("Fish & Chips", "9.00"), ("Café au lait", "2.60"), ("Tom's <special> pie", "6.90")],
    "private": [("Staff discount", "0.01")],
    "other": [("Somebody else's item", "1.00")],
    "comment": [("Withdrawn item", "0.50")],
    "popular": [("Popular right now", "0.99")],  # on the 404 page: not in the catalogue
}
_SKUS = iter(_rng.sample(range(1000, 10000), sum(map(len, PAGES.values()))))
ITEMS = {page: [(f"K{next(_SKUS)}", name, price) for name, price in items]
         for page, items in PAGES.items()}
REORDER = (ITEMS["p2"][1][0], _rng.randrange(2, 6))
REVIEWS = [{"id": _rng.randrange(10_000, 100_000), "sku": ITEMS["p1"][i % 3][0],
            "stars": 1 + i % 5} for i in range(12)]


def _li(sku: str, name: str, price: str, pad: str = "") -> str:
    return (f'<li class="item" data-sku="{sku}"><span class="name">{pad}{html.escape(name)}{pad}'
            f'</span> <span class="price">{pad}{price}{pad}</span></li>\n')


def _page(title: str, items: list, links: list[tuple[str, str]], head: str = "",
          pad: str = "") -> str:
    """A page of items and links; `pad`: whitespace around each name and price (trimmed)."""
    return (f"<!DOCTYPE html>\n<html><head>{head}<title>{title}</title></head><body>\n"
            f"<h1>{title}</h1>\n<ul>\n{''.join(_li(*i, pad) for i in items)}</ul>\n<nav>\n"
            + "".join(f'<a href="{h}">{t}</a>\n' for h, t in links) + "</nav></body></html>\n")


def _catalogue(path: str, other: str) -> tuple[int, dict, bytes] | None:
    """The catalogue's pages: (status, headers, body), or None when there is no such page."""
    html_utf8 = {"Content-Type": "text/html; charset=utf-8"}
    if path in ("/catalogue/", "/catalogue/index.html"):
        body = _page("Catalogue, page 1", ITEMS["p1"], [
            ("page-2.html", "next"), ("page-2.html#top", "page 2 again"),
            ("/catalogue/private/deals.html", "staff deals"),
            (f"{other}/catalogue/page-7.html", "partner shop"),
            *((a, f"aisle {n}") for n, a in enumerate(AISLES, 1))])
        return 200, html_utf8, body.encode()
    if path == "/catalogue/page-2.html":  # a <base>: its relative links resolve elsewhere
        body = _page("Catalogue, page 2", ITEMS["p2"], [
            ("page-3.html", "next"), ("missing.html", "an old page"),
            (f"{URL}/catalogue/", "first page")], head='<base href="/catalogue/shelf/">')
        return 200, html_utf8, body.encode()
    if path == PAGE_429:  # pretty-printed: whitespace around each name and price
        body = _page("Catalogue, page 3", ITEMS["p3"], [
            ("../old-page-4", "next"), ("/catalogue/page-2.html", "previous")], pad="\n    ")
        return 200, html_utf8, body.encode()
    if path == "/catalogue/old-page-4":
        return 301, {"Location": "/catalogue/page-4.html"}, b""
    if path == "/catalogue/page-4.html":  # Latin-1, declared in the header; a repeated item
        body = _page("Catalogue, page 4", [*ITEMS["p4"], ITEMS["p1"][0]], [
            (f"{URL}/catalogue/page-5.html", "next")], head='<meta charset="iso-8859-1">')
        return 200, {"Content-Type": "text/html; charset=iso-8859-1"}, body.encode("latin-1")
    if path == "/catalogue/page-5.html":  # windows-1250, declared only in its <meta>
        body = _page("Catalogue, page 5", ITEMS["p5"], [("page-6.html", "next")],
                     head='<meta charset="windows-1250">')
        return 200, {"Content-Type": "text/html"}, body.encode("cp1250")
    if path == "/catalogue/page-6.html":
        return 200, html_utf8, _broken_page().encode()
    if path in AISLES:  # slow, and empty (restocking)
        time.sleep(SLOW)
        return 200, html_utf8, _page("Aisle", [], [("/catalogue/", "the catalogue")]).encode()
    if path == "/catalogue/private/deals.html":
        return 200, html_utf8, _page("Staff deals", ITEMS["private"], []).encode()
    return None


def _broken_page() -> str:
    """Markup as found in the wild: unquoted attributes, unclosed tags, entities (named,
    decimal, hex), a stray end tag, and an item inside a comment (not on the page)."""
    (s1, _, p1), (s2, _, p2), (s3, _, p3) = ITEMS["p6"]
    c_sku, c_name, c_price = ITEMS["comment"][0]
    return f"""<html><head><title>Catalogue, page 6</title>
<body><h1>Catalogue, page 6</h1>
<ul>
<li class=item data-sku={s1}><span class=name>Fish &amp; Chips</span> <span class=price>{p1}</span>
<li class="item" data-sku="{s2}"><span class="name">Caf&eacute; au lait</span>
  <span class="price">{p2}</span></div>
<!-- <li class="item" data-sku="{c_sku}"><span class="name">{c_name}</span>
     <span class="price">{c_price}</span></li> -->
<li class='item' data-sku='{s3}'><span class='name'>Tom&#39;s &lt;special&gt; pie</span>
  <span class='price'>{p3}</span>
</ul>
<p>The end of the catalogue.
</body>
"""


# A shop's 404 page, with an item of its own: what an error page shows is not the catalogue
NOT_FOUND = _page("Not found", ITEMS["popular"], [("/catalogue/", "the catalogue")]).encode()
ROBOTS = "User-agent: *\nDisallow: /catalogue/private/\nDisallow: /admin\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CourseSite/1.0"
    timeout = 30
    site = "main"

    def log_message(self, format: str, *args: object) -> None:
        pass  # stdout is the request log; nothing else goes there

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20)) if length > 0 else b""
        with _lock:
            _state["inflight"] += 1
            inflight = _state["inflight"]
        try:
            status, headers, payload, note = self._answer(body)
            with _lock:
                flood = _state["logged"] >= MAX_LOGGED
                _state["logged"] += 1
            if flood:
                status, headers, payload, note = 503, {}, b"too many requests\n", {}
            else:
                self._log(body, status, inflight, note)
        finally:
            with _lock:  # before the answer goes out: the client sends its next request only
                _state["inflight"] -= 1  # once it has this one, so it is never counted twice
        self._send(status, headers, payload)

    def _log(self, body: bytes, status: int, inflight: int, note: dict) -> None:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        line = {"t": round(time.monotonic() - START, 3), "site": self.site,
                "method": self.command, "path": self.path, "headers": headers,
                "body": body[:4096].decode("utf-8", "replace"), "status": status,
                "inflight": inflight, **note}
        with _lock:
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()

    def _send(self, status: int, headers: dict, payload: bytes) -> None:
        self.send_response(status)
        headers = {"Content-Type": "text/plain; charset=utf-8", **headers}
        for name, value in headers.items():
            if isinstance(value, list):
                for v in value:
                    self.send_header(name, v)
            else:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _answer(self, body: bytes) -> tuple[int, dict, bytes, dict]:
        path = self.path
        if path == "/robots.txt":
            return 200, {}, ROBOTS.encode(), {}
        if path == PAGE_429:
            now = time.monotonic()
            with _lock:
                first = _state["first_429"]
                if first is None:
                    _state["first_429"] = first = now
            left = first + RETRY_AFTER - now
            if left > 0:
                return 429, {"Retry-After": str(max(1, round(left)))}, b"slow down\n", {}
        page = _catalogue(path, OTHER_URL)
        if page:
            return (*page, {})
        if path.startswith("/account/"):
            return self._account(path, body)
        if path.startswith("/api/"):
            return self._api(path, body)
        return 404, {"Content-Type": "text/html; charset=utf-8"}, NOT_FOUND, {}

    # -- the account: a login form, then an order form, both with a CSRF token ------------

    def _session(self) -> tuple[str | None, dict | None]:
        cookies = [c.strip().split("=", 1) for c in (self.headers.get("Cookie") or "").split(";")
                   if "=" in c]
        sid = dict(cookies).get("sid")
        return sid, _sessions.get(sid) if sid else None

    def _account(self, path: str, body: bytes) -> tuple[int, dict, bytes, dict]:
        sid, session = self._session()
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        if path == "/account/login" and self.command == "GET":
            new = session is None
            if new:
                sid, session = secrets.token_hex(8), {"csrf": secrets.token_hex(8), "user": None}
                _sessions[sid] = session
            page = ("<html><body><h1>Log in</h1>\n<form method=\"post\" action=\"/account/login\">"
                    f"\n<input type=\"hidden\" name=\"csrf_token\" value=\"{session['csrf']}\">\n"
                    "<input name=\"username\"> <input type=\"password\" name=\"password\">\n"
                    "<button>Log in</button></form></body></html>\n")
            headers = {"Content-Type": "text/html; charset=utf-8",
                       **({"Set-Cookie": f"sid={sid}; Path=/; HttpOnly"} if new else {})}
            return 200, headers, page.encode(), {}
        if path == "/account/login" and self.command == "POST":
            if session is None:
                return 403, {}, b"no session cookie: GET the login form first\n", \
                    {"check": "no session"}
            if form.get("csrf_token") != session["csrf"]:
                return 403, {}, b"bad CSRF token\n", {"check": "bad csrf"}
            if (form.get("username"), form.get("password")) != (USER, PASSWORD):
                return 403, {}, b"wrong username or password\n", {"check": "bad login"}
            _sessions.pop(sid, None)  # a new session id once logged in
            sid = secrets.token_hex(8)
            _sessions[sid] = {"csrf": secrets.token_hex(8), "user": USER}
            return 303, {"Location": "/account/", "Set-Cookie": f"sid={sid}; Path=/; HttpOnly"}, \
                b"", {"check": "logged in"}
        if session is None or session["user"] is None:
            return 303, {"Location": "/account/login"}, b"", {"check": "not logged in"}
        if path == "/account/" and self.command == "GET":
            sku, quantity = REORDER
            page = ("<html><body><h1>Your account</h1>\n"
                    f"<p>Reorder <span id=\"reorder-sku\">\n  {sku}\n</span>, quantity "
                    f"<span id=\"reorder-quantity\"> {quantity} </span></p>\n"
                    "<form method=\"post\" action=\"/account/orders\">\n"
                    f"<input type=\"hidden\" name=\"csrf_token\" value=\"{session['csrf']}\">\n"
                    "<input name=\"sku\"> <input name=\"quantity\"> <button>Order</button>"
                    "</form></body></html>\n")
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode(), {}
        if path == "/account/orders" and self.command == "POST":
            if form.get("csrf_token") != session["csrf"]:
                return 403, {}, b"bad CSRF token\n", {"check": "bad csrf"}
            if (form.get("sku"), form.get("quantity")) != (REORDER[0], str(REORDER[1])):
                return 422, {}, b"that is not the reorder on your account page\n", \
                    {"check": "wrong order"}
            order = f"ORD-{secrets.token_hex(4).upper()}"
            page = (f"<html><body><p>Thank you! Order <strong id=\"order-id\"> {order}\n</strong> "
                    "is placed.</p></body></html>\n")
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode(), \
                {"order": order}
        return 404, {}, b"not found\n", {}

    # -- the JSON API: a bearer token, then pages linked by `next` -------------------------

    def _api(self, path: str, body: bytes) -> tuple[int, dict, bytes, dict]:
        as_json = {"Content-Type": "application/json"}
        if path == "/api/token" and self.command == "POST":
            try:
                sent = json.loads(body or b"null")
            except ValueError:
                sent = None
            if not isinstance(sent, dict) or \
                    (sent.get("username"), sent.get("password")) != (USER, PASSWORD):
                return 401, as_json, b'{"error": "send {\\"username\\", \\"password\\"} as JSON"}', \
                    {"check": "bad login"}
            token = secrets.token_hex(12)
            _tokens.add(token)
            return 200, as_json, json.dumps({"token": token}).encode(), {}
        url = urllib.parse.urlsplit(path)
        if url.path != "/api/reviews" or self.command != "GET":
            return 404, as_json, b'{"error": "no such resource"}', {}
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[7:] not in _tokens:
            return 401, {**as_json, "WWW-Authenticate": "Bearer"}, \
                b'{"error": "send Authorization: Bearer <token>"}', {"check": "no token"}
        cursor = urllib.parse.parse_qs(url.query).get("cursor", ["0"])[0]
        start = int(cursor) if cursor.isdigit() else 0
        chunk = REVIEWS[start:start + 5]
        following = start + 5
        nxt = None if following >= len(REVIEWS) else (
            f"/api/reviews?cursor={following}" if start == 0 else
            f"{URL}/api/reviews?cursor={following}")  # relative, then absolute
        return 200, as_json, json.dumps({"reviews": chunk, "next": nxt}).encode(), {}


class Other(Handler):
    site = "other"

    def _answer(self, body: bytes) -> tuple[int, dict, bytes, dict]:
        body_html = _page("Partner shop", ITEMS["other"], [])
        return 200, {"Content-Type": "text/html; charset=utf-8"}, body_html.encode(), {}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


main = Server((HOST, PORT), Handler)
other = Server((HOST, 0), Other)
OTHER_URL = f"http://127.0.0.1:{other.server_address[1]}"
threading.Thread(target=other.serve_forever, daemon=True).start()
truth = {
    "ready": True, "url": URL, "other": OTHER_URL, "retry_after": RETRY_AFTER, "aisles": AISLES,
    "throttled": PAGE_429, "disallowed": ["/catalogue/private/", "/admin"],
    "items": {sku: {"name": name, "price": price}
              for page in ("p1", "p2", "p3", "p4", "p5", "p6") for sku, name, price in ITEMS[page]},
    "not_items": {sku: name for page in ("private", "other", "comment", "popular")
                  for sku, name, _ in ITEMS[page]},
    "reorder": {"sku": REORDER[0], "quantity": REORDER[1]},
    "reviews": [r["id"] for r in REVIEWS],
}
sys.stdout.write(json.dumps(truth) + "\n")
sys.stdout.flush()
main.serve_forever()

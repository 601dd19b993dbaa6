"""A polite web client: crawls the shop's catalogue, places the reorder through the login and
order forms, and reads every review from the JSON API; prints the result as one JSON object."""

import json
import os
import re
import sys
import time
from collections import deque
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests
from bs4 import BeautifulSoup

SITE = os.environ["SITE_URL"]
AGENT = "ada-crawler/0.3"
USER, PASSWORD = "student", "correct horse battery staple"

session = requests.Session()
session.headers["User-Agent"] = AGENT


def fetch(method, url, **kwargs):
    """One request; a 429 is retried after the Retry-After it names."""
    for _ in range(5):
        response = session.request(method, url, timeout=10, **kwargs)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("Retry-After", "1")))
    return response


def charset(response):
    """The charset the Content-Type header declares, else the page's <meta>, else UTF-8."""
    found = re.search(r"charset=[\"']?([\w-]+)", response.headers.get("Content-Type", ""), re.I)
    if not found:
        found = re.search(rb"<meta[^>]*charset=[\"']?([\w-]+)", response.content[:4096], re.I)
    if not found:
        return "utf-8"
    name = found.group(1)
    return name.decode() if isinstance(name, bytes) else name


def soup_of(response):
    return BeautifulSoup(response.content.decode(charset(response), "replace"), "html.parser")


def same_site(url):
    return urlsplit(url)[:2] == urlsplit(SITE)[:2]


def crawl():
    robots = RobotFileParser()
    robots.parse(fetch("GET", urljoin(SITE, "/robots.txt")).text.splitlines())
    queue, seen, items = deque([urljoin(SITE, "/catalogue/")]), set(), {}
    while queue:
        url = urldefrag(queue.popleft())[0]
        if url in seen or not same_site(url) or not robots.can_fetch(AGENT, url):
            continue
        seen.add(url)
        response = fetch("GET", url)
        seen.add(response.url)  # where a redirect led
        if response.status_code != 200 or "html" not in response.headers.get("Content-Type", ""):
            continue
        soup = soup_of(response)
        base = soup.find("base", href=True)
        base_url = urljoin(response.url, base["href"]) if base else response.url
        for li in soup.select("li.item"):
            sku = li.get("data-sku")
            if sku and sku not in items:
                items[sku] = {"sku": sku, "name": li.select_one(".name").get_text(strip=True),
                              "price": li.select_one(".price").get_text(strip=True)}
        for link in soup.find_all("a", href=True):
            queue.append(urljoin(base_url, link["href"]))
    return list(items.values())


def reorder():
    form = soup_of(fetch("GET", urljoin(SITE, "/account/login")))
    csrf = form.find("input", attrs={"name": "csrf_token"})["value"]
    account = fetch("POST", urljoin(SITE, "/account/login"),
                    data={"csrf_token": csrf, "username": USER, "password": PASSWORD})
    page = soup_of(account)
    order = {"csrf_token": page.find("input", attrs={"name": "csrf_token"})["value"],
             "sku": page.select_one("#reorder-sku").get_text(strip=True),
             "quantity": page.select_one("#reorder-quantity").get_text(strip=True)}
    placed = fetch("POST", urljoin(SITE, "/account/orders"), data=order)
    return soup_of(placed).select_one("#order-id").get_text(strip=True)


def reviews():
    token = fetch("POST", urljoin(SITE, "/api/token"),
                  json={"username": USER, "password": PASSWORD}).json()["token"]
    url, found = urljoin(SITE, "/api/reviews"), []
    while url:
        data = fetch("GET", url, headers={"Authorization": f"Bearer {token}"}).json()
        found += [review["id"] for review in data["reviews"]]
        url = urljoin(url, data["next"]) if data.get("next") else None
    return found


def main():
    result = {"items": crawl(), "order": reorder(), "reviews": reviews()}
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()

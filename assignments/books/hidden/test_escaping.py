"""Hidden tests: what users type is shown as text, never run as markup."""

import pytest
from conftest import page_text


@pytest.mark.points(3)
def test_script_in_title_is_escaped(http, soup, add_book, tag):
    """A <script> in a title is shown as text on the index and detail pages, never run"""
    title = f'<script>alert("{tag}")</script> & <b>bold</b>'
    book = add_book(title=title)
    for url in ("/books/", f"/books/{book['id']}", f"/books/{book['id']}/edit"):
        r = http.get(url)
        page = soup(r)
        scripts = [s for s in page.find_all("script") if tag in s.get_text()]
        assert not scripts, (
            f"{url}: the title became a real <script> element: escape what users type "
            "(Jinja autoescaping; never |safe or Markup on user data)")
        if url.endswith("/edit"):
            field = page.find("input", attrs={"name": "title"})
            assert field is not None and field.get("value") == title, (
                f"{url}: the title field does not hold the title exactly as typed")
        elif url != "/books/":  # the index is checked only for the script (not its text)
            assert title in page_text(page), (
                f"{url}: the title {title!r} is not shown literally (as text)")


@pytest.mark.points(1)
def test_author_and_publisher_are_escaped(http, soup, add_book, tag):
    """A <script> in an author or publisher is shown as text on the detail and edit pages"""
    author = f'<script>alert("a{tag}")</script> & <i>Ann</i>'
    publisher = f'<script>alert("p{tag}")</script> "Press" & <b>Co</b>'
    book = add_book(author=author, publisher=publisher)
    for url in (f"/books/{book['id']}", f"/books/{book['id']}/edit"):
        page = soup(http.get(url))
        scripts = [s for s in page.find_all("script") if tag in s.get_text()]
        assert not scripts, (
            f"{url}: the author or publisher became a real <script> element: escape every "
            "field users type, not only the title")
        if url.endswith("/edit"):
            for name, value in (("author", author), ("publisher", publisher)):
                field = page.find("input", attrs={"name": name})
                assert field is not None and field.get("value") == value, (
                    f"{url}: the {name} field does not hold the {name} exactly as typed")
        else:
            for name, value in (("author", author), ("publisher", publisher)):
                assert value in page_text(page), (
                    f"{url}: the {name} {value!r} is not shown literally (as text)")

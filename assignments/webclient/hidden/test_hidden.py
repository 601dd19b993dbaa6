"""The hidden tests: text as the pages declare it, and a crawler's manners."""

import pytest
from conftest import check_names, on_main


@pytest.mark.points(2)
def test_decodes_each_page_with_its_charset(result, site) -> None:
    """Each page is decoded with the charset it declares (Content-Type header, else <meta>)"""
    check_names(result, site, ["Crème brûlée", "Smørrebrød", "Açaí bowl"],
                "decode with the charset the Content-Type header declares")
    check_names(result, site, ["Knödel", "Ćevapi", "Pâté"],
                "a page whose header declares no charset is decoded with its <meta charset>")


@pytest.mark.points(2)
def test_reads_broken_markup_and_entities(result, site) -> None:
    """Items in broken markup are read with their entities decoded"""
    check_names(result, site, ["Fish & Chips", "Café au lait", "Tom's <special> pie"],
                "parse the HTML (unclosed tags, unquoted attributes) and decode its entities "
                "(&amp; &eacute; &#39; &lt;)")


@pytest.mark.points(1)
def test_asks_for_each_page_once(seen) -> None:
    """No page is requested twice (a 429 aside): links are compared without their #fragment"""
    main = on_main(seen)
    assert len(main) >= 10, f"only {len(main)} requests reached the site: crawl the whole " \
                            "catalogue"
    asked: dict[str, int] = {}
    for r in on_main(seen):
        if r["method"] == "GET" and r["status"] != 429:
            asked[r["path"]] = asked.get(r["path"], 0) + 1
    twice = [p for p, n in asked.items() if n > 1]
    assert not twice, f"your program requested {twice[0]} {asked[twice[0]]} times: keep a set " \
                      "of the pages seen, links compared without their #fragment"

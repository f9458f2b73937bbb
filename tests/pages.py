"""Reading the hub's HTML pages in tests: a table's rows as the reader sees them."""

import html
import re
from collections.abc import Callable


def text(cell: str) -> str:
    """A cell's text, its markup dropped and its ends trimmed."""
    return html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()


def words(cell: str) -> str:
    """A cell's words, one space apart (its markup counts as a space)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())


def table(page: str, table_id: str, *, cell: Callable[[str], str] = text) -> list[list[str]]:
    """The body rows of the page's table ``table_id``, each cell read by ``cell``."""
    found = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert found, table_id
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S)
    return [
        [cell(each) for each in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows
    ]

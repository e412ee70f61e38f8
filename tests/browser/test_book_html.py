"""The built book (_build/html) as a new user sees it, in headless Chromium.

From index.html, every internal page is crawled: it loads (the server answered 200), has a title, every <img>
loads, every internal link (and #anchor) resolves; the scorecard has a table; every chapter notebook in the
repository (book/*/**/*.ipynb) is reachable and shows at least one figure. A reader's view: no page scrolls
sideways, every claims table's verdict column lies inside the article, the nbval marker is nowhere on a page, the
scorecard is under 5,000 px tall, and equations are typeset by the book's own MathJax with no request leaving the
loopback server. Screenshots of the scorecard and of one chapter notebook are kept in _build/browser/.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IGNORED_404 = {"/favicon.ico"}  # Chromium asks for it by itself on a page without an icon link; not the book's link
SCORECARD_MAX_PX = 5000

# One round trip per page: what the checks need, with images and links resolved by the browser.
PAGE_JS = """
const article = document.querySelector('article, main, [role=main]') || document.body;
return {
  title: document.title,
  images: Array.from(document.images).map(i => ({
    src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0, inArticle: article.contains(i)})),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.getAttribute('name')),
  tables: article.querySelectorAll('table').length,
  pageWidth: document.documentElement.scrollWidth,
  viewWidth: document.documentElement.clientWidth,
  pageHeight: document.documentElement.scrollHeight,
  marker: document.body.innerText.includes('NBVAL_CHECK_OUTPUT'),
  math: document.querySelectorAll('.math').length,
  typeset: document.querySelectorAll('mjx-container').length,
  resources: performance.getEntriesByType('resource').map(e => e.name)
    .concat(Array.from(document.querySelectorAll('script[src], link[href][rel~=stylesheet]'))
      .map(e => e.src || e.href)),
  claimsTables: Array.from(article.querySelectorAll('table.claims-table')).map(t => {
    const box = article.getBoundingClientRect();
    const last = Array.from(t.querySelectorAll('tr')).map(r => r.cells[r.cells.length - 1]).filter(c => c);
    let clipped = false;
    for (let e = t.parentElement; e && e !== article; e = e.parentElement) {
      if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible') { clipped = true; }
    }
    return {right: Math.max(...last.map(c => c.getBoundingClientRect().right)), articleRight: box.right,
            clipped: clipped, rows: last.length};
  }),
};
"""


@dataclass
class Page:
    path: str  # relative to the book's root, e.g. "book/scorecard.html"
    title: str = ""
    images: list[dict] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # absolute URLs, as the browser resolved them
    ids: set[str] = field(default_factory=set)
    tables: int = 0
    found_on: str = ""  # the first page that linked here
    view: dict = field(default_factory=dict)  # widths, height, marker, math, resources, claims tables (PAGE_JS)


@dataclass
class Crawl:
    base: str
    pages: dict[str, Page]  # by path
    redirects: dict[str, str]  # path -> path, e.g. index.html -> book/intro.html (a meta refresh)
    log: list[tuple[int, str, str]]  # (status, path, referer) of every server response
    link_status: dict[str, int]  # internal link targets that are not crawled pages: path -> status


def _rel(base: str, url: str) -> str | None:
    """The path of an internal URL relative to the book's root, or None for an external one."""
    if not url.startswith(base):
        return None
    path = unquote(urlsplit(url).path.lstrip("/"))
    return path + "index.html" if path == "" or path.endswith("/") else path


def _status(base: str, path: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, method="HEAD"), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _load(driver, url: str) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    wait = WebDriverWait(driver, 15, poll_frequency=0.1)
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    if driver.execute_script("return !!document.querySelector('meta[http-equiv=refresh i]')"):
        wait.until(lambda d: d.current_url != url and d.execute_script("return document.readyState") == "complete")
    # Images: make lazy ones eager and give them all time to finish (a broken one is complete, naturalWidth 0).
    driver.execute_script("document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
    try:
        wait.until(lambda d: d.execute_script("return Array.from(document.images).every(i => i.complete)"))
    except TimeoutException:
        pass  # reported per image by test_every_image_loads
    try:  # MathJax typesets after the load event: wait for it where the page has math (a miss is reported by a test)
        wait.until(lambda d: d.execute_script(
            "return !document.querySelector('.math') || !!document.querySelector('mjx-container')"))
    except TimeoutException:
        pass


@pytest.fixture(scope="module")
def crawl(server, driver) -> Crawl:
    base, log = server
    pages: dict[str, Page] = {}
    redirects: dict[str, str] = {}
    queue, queued = deque([("index.html", "")]), {"index.html"}
    while queue:
        path, found_on = queue.popleft()
        _load(driver, base + path)
        final = _rel(base, driver.current_url) or path
        if final != path:
            redirects[path] = final
            if final in pages:
                continue
            queued.add(final)
        page = Page(final, found_on=found_on)
        data = driver.execute_script(PAGE_JS)
        page.title, page.images, page.links, page.tables = data["title"], data["images"], data["links"], data["tables"]
        page.ids = {i for i in data["ids"] if i}
        page.view = {k: data[k] for k in ("pageWidth", "viewWidth", "pageHeight", "marker", "math", "typeset",
                                          "resources", "claimsTables")}
        pages[final] = page
        for link in page.links:
            target = _rel(base, link)
            if target and target.endswith(".html") and target not in queued:
                queued.add(target)
                queue.append((target, final))
    link_status = {}
    for page in pages.values():
        for link in page.links:
            target = _rel(base, link)
            if target and target not in pages and target not in redirects and target not in link_status:
                link_status[target] = _status(base, target)
    return Crawl(base, pages, redirects, list(log), link_status)


def _page_status(crawl: Crawl, path: str) -> int | None:
    """The server's last answer for a page (the query string and the leading slash ignored)."""
    statuses = [s for s, p, _ in crawl.log if unquote(urlsplit(p).path.lstrip("/")) == path]
    return statuses[-1] if statuses else None


def _toc_files() -> list[str]:
    """Every document named in _toc.yml (root, file), e.g. 'book/scorecard'."""
    out: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("root", "file") and isinstance(value, str):
                    out.append(value.removesuffix(".md").removesuffix(".ipynb"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    return out


def _chapter_notebooks() -> list[str]:
    """The chapter notebooks in the repository, as page paths: book/<chapter>/**/<name>.html."""
    found = sorted(ROOT.glob("book/*/**/*.ipynb"))
    return [
        p.relative_to(ROOT).with_suffix(".html").as_posix()
        for p in found
        if not {".ipynb_checkpoints", "_build"} & set(p.parts)
    ]


def _chapter_indexes() -> list[str]:
    return sorted(
        p.relative_to(ROOT).with_suffix(".html").as_posix()
        for p in ROOT.glob("book/*/index.*")
        if p.suffix in (".md", ".ipynb")
    )


def _where(page: Page) -> str:
    return f"on {page.path} ({page.title!r})"


def test_every_page_loads(crawl):
    assert "index.html" in crawl.pages or "index.html" in crawl.redirects, "index.html did not load"
    problems = []
    for path, page in sorted(crawl.pages.items()):
        status = _page_status(crawl, path)
        if status != 200:
            problems.append(f"{path}: the server answered {status} (linked from {page.found_on or 'nowhere'})")
        if not page.title.strip():
            problems.append(f"{path}: document.title is empty")
    assert not problems, f"{len(problems)} of {len(crawl.pages)} pages failed:\n" + "\n".join(problems)


def test_no_server_errors(crawl):
    """Every request a page made (CSS, JS, images, fonts: those with a Referer) was answered < 400.

    Pages themselves and link targets are reported by test_every_page_loads and test_no_broken_internal_link.
    """
    bad = sorted({(s, p, r) for s, p, r in crawl.log if s >= 400 and r and urlsplit(p).path not in IGNORED_404})
    assert not bad, "requests that failed:\n" + "\n".join(f"{s} {p} (from {_rel(crawl.base, r) or r})" for s, p, r in bad)


def test_every_image_loads(crawl):
    broken = [
        f"{_where(page)}: {_rel(crawl.base, img['src']) or img['src']}"
        for page in crawl.pages.values()
        for img in page.images
        if not img["ok"]
    ]
    assert not broken, f"{len(broken)} images did not load (complete and naturalWidth > 0):\n" + "\n".join(broken)


def test_no_broken_internal_link(crawl):
    broken = []
    for page in crawl.pages.values():
        for link in page.links:
            target = _rel(crawl.base, link)
            if target is None:
                continue
            target = crawl.redirects.get(target, target)
            status = _page_status(crawl, target) if target in crawl.pages else crawl.link_status.get(target)
            if status != 200:
                broken.append(f"{_where(page)}: {link} -> {status}")
                continue
            fragment = unquote(urlsplit(link).fragment)
            if fragment and target in crawl.pages and fragment not in crawl.pages[target].ids:
                broken.append(f"{_where(page)}: {link} -> no id {fragment!r} on {target}")
    broken = sorted(set(broken))
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken)


def test_toc_pages_reachable_from_index(crawl):
    """A new user, starting at index.html, finds every document of _toc.yml and every chapter folder's index."""
    expected = sorted({f + ".html" for f in _toc_files()} | set(_chapter_indexes()) | {"book/scorecard.html"})
    missing = [p for p in expected if p not in crawl.pages]
    assert not missing, "not reachable by links from index.html:\n" + "\n".join(missing)


def test_scorecard_has_a_table(crawl):
    page = crawl.pages.get("book/scorecard.html")
    assert page is not None, "book/scorecard.html was not reached from index.html"
    assert page.tables >= 1, f"{_where(page)}: no <table> in the article"


def test_every_chapter_notebook_shows_a_figure(crawl):
    notebooks = _chapter_notebooks()
    assert notebooks, "no chapter notebook (book/*/**/*.ipynb) in the repository"
    problems = []
    toc = {f + ".html" for f in _toc_files()}
    for path in notebooks:
        page = crawl.pages.get(path)
        if page is None:
            hint = "" if path in toc else " (it is not listed in _toc.yml, and only_build_toc_files is on)"
            problems.append(f"{path}: not reached from index.html{hint}")
            continue
        status = _page_status(crawl, path)
        if status != 200:
            problems.append(f"{path}: linked, but the server answered {status}")
            continue
        figures = [img for img in page.images if img["inArticle"] and img["ok"]]
        if not figures:
            problems.append(f"{_where(page)}: no figure image loaded ({len(page.images)} <img> on the page)")
    assert not problems, "chapter notebooks without a figure in the book:\n" + "\n".join(problems)


def _screenshot(driver, url: str, target: Path) -> None:
    _load(driver, url)
    driver.execute_script("window.scrollTo(0, 0)")
    assert driver.save_screenshot(str(target)), f"no screenshot of {url}"
    data = target.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000, f"{target}: not a PNG of a page ({len(data)} bytes)"


def test_screenshots(crawl, driver, artefacts):
    """_build/browser/scorecard.png and _build/browser/<first chapter notebook>.png, kept as test artefacts."""
    assert "book/scorecard.html" in crawl.pages, "book/scorecard.html was not reached from index.html"
    _screenshot(driver, crawl.base + "book/scorecard.html", artefacts / "scorecard.png")
    shown = [
        p
        for p in _chapter_notebooks()
        if p in crawl.pages and any(i["inArticle"] and i["ok"] for i in crawl.pages[p].images)
    ]
    assert shown, "no chapter notebook page with a figure to screenshot"
    _screenshot(driver, crawl.base + shown[0], artefacts / (Path(shown[0]).stem + ".png"))


def test_no_page_scrolls_sideways(crawl):
    wide = [f"{_where(p)}: {p.view['pageWidth']} px wide in a {p.view['viewWidth']} px window"
            for p in crawl.pages.values() if p.view["pageWidth"] > p.view["viewWidth"] + 1]
    assert not wide, "pages that scroll sideways:\n" + "\n".join(wide)


def test_claims_tables_verdict_column_inside_the_article(crawl):
    tables = [(p, t) for p in crawl.pages.values() for t in p.view["claimsTables"]]
    assert tables, "no claims table (table.claims-table) on any page"
    bad = [f"{_where(p)}: verdict column ends at {t['right']:.0f} px, the article at {t['articleRight']:.0f} px"
           + (" (in a scrolled box)" if t["clipped"] else "")
           for p, t in tables if t["right"] > t["articleRight"] + 1 or t["clipped"]]
    assert not bad, "claims tables cut off:\n" + "\n".join(bad)


def test_nbval_marker_is_not_on_any_page(crawl):
    shown = [_where(p) for p in crawl.pages.values() if p.view["marker"]]
    assert not shown, "NBVAL_CHECK_OUTPUT is visible:\n" + "\n".join(shown)


def test_scorecard_is_short(crawl):
    page = crawl.pages.get("book/scorecard.html")
    assert page is not None, "book/scorecard.html was not reached from index.html"
    assert page.view["pageHeight"] < SCORECARD_MAX_PX, f"scorecard is {page.view['pageHeight']} px tall"


def test_equations_render_with_no_network(crawl):
    """MathJax comes from the book's _static (no CDN; the browser resolves no other host), and typesets."""
    with_math = [p for p in crawl.pages.values() if p.view["math"]]
    assert with_math, "no page with an equation (.math)"
    raw = [f"{_where(p)}: {p.view['math']} equations, none typeset (no mjx-container)"
           for p in with_math if not p.view["typeset"]]
    assert not raw, "equations left as raw LaTeX:\n" + "\n".join(raw)
    external = sorted({r for p in crawl.pages.values() for r in p.view["resources"]
                       if r and not r.startswith(crawl.base) and not r.startswith(("data:", "blob:"))})
    assert not external, "requests that leave the book's server:\n" + "\n".join(external)
    assert any("/_static/mathjax/" in r for p in with_math for r in p.view["resources"]), "MathJax not from _static"

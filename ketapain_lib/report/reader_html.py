"""What the book's HTML pages hold beyond their text, for a reader: a Sphinx extension (``_config.yml``,
``sphinx.local_extensions``).

* **Numbers in prose never break across lines.** ``P = 0.273`` is written as "P {glue:text}`…`" in a chapter:
  the letter and the relation are two pieces of the page. After the glued values are in place, every sentence's
  relations and ranges are made unbreakable (:func:`ketapain_lib.formatting.unbroken`), across the pieces too
  (:func:`ketapain_lib.formatting.unbroken_after`). Code, mathematics and raw HTML are left as they are (the
  tables' HTML is made unbreakable where it is laid out, :mod:`ketapain_lib.report.publication`).
* **No interactive-code machinery, no CDN.** jupyter-book loads ``sphinx_thebe`` whatever ``launch_buttons``
  says, and sphinx-thebe writes ``THEBE_JS_URL = "https://unpkg.com/…"``, its script and its stylesheet into
  every page, and a Binder configuration into every page with a doctree. The book launches no kernel
  (``launch_buttons.thebe: false``), so all of it is taken out of the pages: no page names a remote script.
"""
from __future__ import annotations

from docutils import nodes

from .. import formatting as fmt

#: Elements whose text is not prose: code a reader types, mathematics, raw HTML.
_NOT_PROSE = (nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.raw, nodes.comment)


def _prose_texts(block: nodes.Element) -> list[nodes.Text]:
    """The block's text nodes that a reader reads as prose (not code, mathematics or a link's address)."""
    return [text for text in block.findall(nodes.Text)
            if not any(isinstance(parent, _NOT_PROSE) or _is_address(parent) for parent in _ancestors(text, block))]


def _is_address(node: nodes.Node) -> bool:
    """A link that shows its own address (a DOI, a URL): copied as shown, so left as it is."""
    return isinstance(node, nodes.reference) and node.get("refuri", "").startswith(("http", "doi")) and \
        node.astext() in node.get("refuri", "")


def _ancestors(node: nodes.Node, top: nodes.Element):
    while node is not None and node is not top:
        node = node.parent
        yield node


def unbreakable_numbers(app, doctree: nodes.document, docname: str) -> None:
    """Make the relations and ranges of numbers of every paragraph, caption and title unbreakable."""
    for block in list(doctree.findall(nodes.TextElement)):
        if isinstance(block, _NOT_PROSE) or any(isinstance(a, _NOT_PROSE) for a in _ancestors(block, doctree)):
            continue
        texts = [text for text in _prose_texts(block) if text.parent is not None]
        shown = [fmt.unbroken(str(text)) for text in texts]
        for i in range(1, len(shown)):
            shown[i - 1], shown[i] = fmt.unbroken_after(shown[i - 1], shown[i])
        for text, new in zip(texts, shown):
            if new != str(text) and text.parent is not None:
                text.parent.replace(text, nodes.Text(new))


def _is_thebe(asset) -> bool:
    name = str(getattr(asset, "filename", "") or "")
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return "thebe" in name or "THEBE_JS_URL" in body or "unpkg.com" in body


def drop_thebe_assets(app, pagename, templatename, context, doctree) -> None:
    """The page's scripts and stylesheets without sphinx-thebe's (a new list: other pages keep theirs)."""
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]


def drop_thebe_config(app, doctree: nodes.document, docname: str) -> None:
    """sphinx-thebe's Binder configuration (a raw ``text/x-thebe-config`` script) out of the page."""
    for raw in list(doctree.findall(nodes.raw)):
        if "x-thebe-config" in raw.astext() and raw.parent is not None:
            raw.parent.remove(raw)


def setup(app):
    # after myst-nb has put the glued values in place and after sphinx-thebe has added its configuration
    app.connect("doctree-resolved", unbreakable_numbers, priority=900)
    app.connect("doctree-resolved", drop_thebe_config, priority=900)
    app.connect("html-page-context", drop_thebe_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Sphinx configuration of the rnn-spark documentation site (build: scripts/docs).

Pages are Markdown (MyST); the CLI reference comes from the click commands (sphinx-click), the
configuration reference from conf/defaults.toml (docs/_ext/rnnspark_docs.py), the Python API from
docstrings (autodoc). Everything is served from the built files: no CDN, no web fonts, no
intersphinx -- the site builds and reads offline.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(DOCS / "_ext")]  # this checkout's rnn_spark, then our extension

project = "rnn-spark"
author = "the rnn-spark authors"
copyright = "the rnn-spark authors, Apache-2.0"  # noqa: A001 (Sphinx's name)

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinx_click",
    "rnnspark_docs",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "_tools"]
language = "en"

# -- Markdown (MyST) -----------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 4          # [text](page.md#a-heading) links, as GitHub slugs them

# -- strictness: scripts/docs builds with -W (warnings are errors) and -n (every reference must
# resolve); references to other projects' objects cannot resolve offline and are not ours to check
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(np|numpy|pa|pyarrow|pq|pyspark|click|hdfs|torch|onnx|io|os|pathlib)(\..*)?"),
    (r"py:class", r"collections\.OrderedDict|rnn_spark\.ingest\.job\.Job"),  # stdlib; internal
    (r"py:class", r"(Path|Iterator|Iterable|Callable|Any|Sequence|Mapping|ndarray|DataFrame|"
                  r"Column|BinaryIO|IO|TextIO|Table|RecordBatch|UserError|ValueError|Exception)"),
]

# -- the Python API (autodoc) --------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True}
default_role = "literal"          # `x` in a docstring reads as code, as the Markdown pages write it

# -- HTML (Furo: no external fonts or scripts) ---------------------------------------------------
html_theme = "furo"
html_title = "rnn-spark"
html_static_path = ["_static"]
html_css_files = ["rnnspark.css"]
html_theme_options = {"navigation_with_keys": True}
html_show_sourcelink = False
html_last_updated_fmt = None
pygments_style = "friendly"
highlight_language = "text"       # a fence without a language is shown as it is
# no "smart" typography: it turned --overwrite into an en dash and 'x' into curly quotes in
# headings, links and the CLI help texts, which then could not be copied into a shell
smartquotes = False

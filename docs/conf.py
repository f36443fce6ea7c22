"""The documentation site: Sphinx with MyST Markdown pages and autodoc from the docstrings.

Built strictly in the tests (``tests/test_docs.py``): ``sphinx-build -W --keep-going -n -b html docs
docs/_build/html``. Served locally, rebuilt on every change: ``sphinx-autobuild docs docs/_build/html``.
"""

import os
import sys

from sphinx.ext.napoleon.docstring import GoogleDocstring

sys.path.insert(0, os.path.abspath("_ext"))

project = "mpcl-tevatron"
author = "mpcl-tevatron contributors"
copyright = "2026, mpcl-tevatron contributors"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax",
              "records_tables"]
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
# the recorded runs' folders hold Markdown reports of their own: data beside the site, not pages of it
exclude_patterns = ["_build", "quickstart", "lareqa", "answer", "answer-run", "xmrc_default", "scale", "sweep.md",
                    "_generated"]
html_theme = "furo"
html_title = "mpcl-tevatron"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# nitpicky mode (-n) would otherwise fail on every third-party type named in a signature
nitpick_ignore_regex = [(r"py:.*", r"(torch|np|numpy|nn|transformers|datasets|ranx|argparse|typing|collections)\..*"),
                        (r"py:class", r"(Tensor|Optional|Sequence|Dict|List|Tuple|Callable|Iterable|Any|Set|Type)"),
                        (r"py:class", r".*\.Tensor"), (r"py:class", r"Module"),
                        (r"py:class", r"(sentence_transformers|tevatron)\..*"), (r"py:class", r".*\.T")]


def _attribute_as_prose(self):
    """A ``#:`` comment is prose ("the form ablation's rows: ..."), but napoleon reads a first line with a
    colon as "type: description"; the project's attributes carry their types as annotations, not there."""
    return self._consume_to_end()


GoogleDocstring._parse_attribute_docstring = _attribute_as_prose

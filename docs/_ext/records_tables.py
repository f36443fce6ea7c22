"""A Sphinx extension: the report page's tables, generated from the records committed under ``docs/`` when the
site builds (into ``docs/_generated/``, which the pages include), so that no figure there is typed by hand."""

from __future__ import annotations

import functools
import json
import os

from mpcl_tevatron.recipes import scale
from mpcl_tevatron.xmrc.analysis.records import RECORDS, Records
from mpcl_tevatron.xmrc.analysis.report import LAREQA_PUBLISHED, json_data, pool_summary, summary, xx_table
from mpcl_tevatron.xmrc.analysis.results import Results
from mpcl_tevatron.xmrc.analysis.statistics import coverage_markdown


def folder_results(*folder: str) -> Results:
    """The results of the records.npz in a folder (``folder`` joined), from the cache below."""
    path = os.path.join(*folder, RECORDS)
    stat = os.stat(path)
    return _results_of(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=None)
def _results_of(path: str, mtime_ns: int, size: int) -> Results:
    """A records file's results, built once per version of the file: the answer run's take minutes, and the
    tests ask for the generated pages several times in one process."""
    return Results.from_records(Records.load(path))


def answer_page(folder: str, dataset: str) -> str:
    """The answer run's tables on one benchmark (``report.summary``) from the records.npz its last sitting
    writes; until then, how many of its runs are recorded, and no figure."""
    if os.path.isfile(os.path.join(folder, RECORDS)):
        return summary(folder_results(folder), dataset, published=LAREQA_PUBLISHED[dataset])
    runs = os.path.join(folder, "records")
    done = len([name for name in os.listdir(runs) if name.endswith(".npz")]) if os.path.isdir(runs) else 0
    return (f"Not finished: {done} runs recorded so far. The tables appear here, generated from the run's records, "
            "when every run has finished.\n")


def generated_pages(docs: str) -> dict:
    """{file name: markdown} of every generated table, from the records under ``docs``."""
    pages = {"quickstart.md": "```text\n" + xx_table(json_data(folder_results(docs, "quickstart"))) + "\n```\n",
             "lareqa_xquad.md": pool_summary(folder_results(docs, "lareqa"), "XQuAD-R",
                                             published=LAREQA_PUBLISHED["XQuAD-R"]) + "\n",
             "lareqa_mlqa.md": pool_summary(folder_results(docs, "lareqa", "mlqa-r"), "MLQA-R",
                                            published=LAREQA_PUBLISHED["MLQA-R"]) + "\n"}
    pages["answer_xquad.md"] = answer_page(os.path.join(docs, "answer-run"), "XQuAD-R")
    pages["answer_mlqa.md"] = answer_page(os.path.join(docs, "answer-run", "mlqa-r"), "MLQA-R")
    with open(os.path.join(docs, "interval_coverage.json"), encoding="utf-8") as f:
        coverage = json.load(f)
    pages["coverage.md"] = coverage_markdown(coverage["coverage"], coverage["simulations"]) + "\n"
    points = scale.finished_points(os.path.join(docs, "scale"))
    pages["scale.md"] = "No point of the curve is recorded yet.\n"
    if points:  # scale.md's tables without its title, and the plot `--from` drew beside them
        pages["scale.md"] = (scale.markdown(scale.tables(points)).split("\n", 2)[2]
                             + "\n![the difference against the training setting](/scale/scale.png)\n")
    return pages


def write_generated(app) -> None:
    out = os.path.join(app.srcdir, "_generated")
    os.makedirs(out, exist_ok=True)
    for name, text in generated_pages(str(app.srcdir)).items():
        path = os.path.join(out, name)
        old = open(path, encoding="utf-8").read() if os.path.isfile(path) else None
        if old != text:  # unchanged files keep their time stamps: Sphinx rebuilds only what changed
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)


def setup(app):
    app.connect("builder-inited", write_generated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

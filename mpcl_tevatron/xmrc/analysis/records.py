"""The per-question records of an XMRC run, from which its report is rebuilt.

A record is what a ranking says about each question's relevant candidates: for every run (one trained model,
or a zero-shot row), task, query set (``clean``, or a typo'd copy ``<severity>.<copy>``) and question, the
rank of each relevant candidate in the top ``depth`` (1 = first; 0 = below the depth or not searched). Every
reported metric (MRR@10, nDCG@10, Recall@100, mAP@20, mAP@100) is a function of those ranks and the number of
relevant candidates, so the records hold every per-question score of every row, seed, typo'd copy, condition
and task, in about 1 byte each (uint8: the depth is at most 254).

Files (``<run folder>/records.npz``, compressed numpy): one array per (run, task, query set),
``<run>|<task>|<set>``, of shape [questions, most relevant candidates of a question], padding 255; per task,
``questions|<task>``, its questions as positions in the list of every question id; and ``meta`` (UTF-8 JSON
bytes): the report's rows and their runs, the tasks, that list of ids, the severities, the depth, the
reference row, the correction and the recipe's settings.
``python -m mpcl_tevatron.xmrc.analysis.report --from <records.npz> --out <folder>`` rebuilds report.md and
report.json from the records alone.
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np
from tqdm import tqdm

from ...evaluation import read_qrels
from ...io import InputError, atomic_open, iter_jsonl
from ..data.tasks import Task

RECORDS = "records.npz"
#: a rank slot that holds no relevant candidate (the question has fewer than the array's width)
PAD = 255
#: map@20 is the X->pool measure: LAReQA's mAP as XTREME computes it (``third_party/utils_lareqa.py``:
#: average precision over the top 20, divided by min(R, 20)); ranx divides by R, the same wherever R <= 20,
#: which holds for XQuAD-R (11 relevant per question in the pool) and MLQA-R (2-4); ``metric_arrays`` checks it.
METRICS = ("mrr@10", "ndcg@10", "recall@100", "map@20", "map@100")


@dataclass
class Records:
    """``meta`` (see the module docstring) and ``ranks``: {"<run>|<task>|<set>": uint8 [questions, width]}."""

    meta: dict
    ranks: Dict[str, np.ndarray]

    # --- files ---------------------------------------------------------------------------------------------
    def save(self, path: str) -> None:
        """One compressed numpy file. The meta is UTF-8 JSON bytes, and each task's question ids are stored
        once, as positions in one list of every id (MLQA-R's ids are 40-character hashes, repeated by every
        task of every language that holds them)."""
        ids = sorted({q for t in self.meta["tasks"] for q in t["questions"]})
        position = {q: i for i, q in enumerate(ids)}
        meta = {**self.meta, "question_ids": ids,
                "tasks": [{k: v for k, v in t.items() if k != "questions"} for t in self.meta["tasks"]]}
        arrays = {"meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
                  **{f"questions|{t['name']}": np.array([position[q] for q in t["questions"]], dtype=np.int32)
                     for t in self.meta["tasks"]},
                  **self.ranks}
        with atomic_open(path, "wb") as f:
            np.savez_compressed(f, **arrays)

    @classmethod
    def load(cls, path: str) -> "Records":
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such file")
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode("utf-8"))
                ids = meta.pop("question_ids")
                for t in meta["tasks"]:
                    t["questions"] = [ids[i] for i in z[f"questions|{t['name']}"]]
                ranks = {k: z[k] for k in z.files if k != "meta" and not k.startswith("questions|")}
        except (OSError, ValueError, KeyError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: not an XMRC records file ({type(e).__name__}: {e})") from None
        records = cls(meta, ranks)
        missing = [key for key in records.keys() if key not in ranks]
        if missing:
            raise InputError(f"{path}: {len(missing)} records missing, e.g. {missing[0]}")
        return records

    # --- what they hold --------------------------------------------------------------------------------------
    @property
    def tasks(self) -> List[Task]:
        return [Task(t["query"], t["target"], tuple(t["searched"]), t["qrels"]) for t in self.meta["tasks"]]

    def questions(self, task: str) -> List[str]:
        """The question ids of ``task``, in the order of its score arrays."""
        return next(t["questions"] for t in self.meta["tasks"] if t["name"] == task)

    def sets(self, condition: str) -> List[str]:
        """The query sets of a condition: ``clean``, or a severity's typo'd copies."""
        return self.meta["sets"][condition]

    def keys(self) -> List[str]:
        """Every ``run|task|set`` key the records hold."""
        return [f"{run}|{t['name']}|{name}" for runs in self.meta["seeds"].values() for run in runs
                for t in self.meta["tasks"] for names in self.meta["sets"].values() for name in names]

    def scores(self, run: str, task: str, condition: str) -> Dict[str, np.ndarray]:
        """{metric: [copies, questions]}: the per-question scores of each query set of the condition."""
        per_set = [metric_arrays(self.ranks[f"{run}|{task}|{name}"], self.meta["depth"])
                   for name in self.sets(condition)]
        return {m: np.stack([s[m] for s in per_set]) for m in METRICS}


def metric_arrays(ranks: np.ndarray, depth: int) -> Dict[str, np.ndarray]:
    """ranx's per-question metrics (``METRICS``) from a records array [questions, width] (rank of each relevant
    candidate, 1 first, 0 not in the top ``depth``, ``PAD`` no such candidate): ranx's metric kernels run on
    arrays built from the ranks (relevant candidate j is code j, at its rank; the other positions hold
    nothing)."""
    from ranx import evaluate

    ranks = np.asarray(ranks)
    n, width = ranks.shape
    relevant = ranks != PAD
    if (relevant.sum(axis=1) > 20).any():
        raise ValueError("a question with more than 20 relevant candidates: ranx's mAP@20 divides by R, "
                         "LAReQA's by min(R, 20)")
    qrels = np.zeros((n, width, 2))
    qrels[:, :, 0] = np.where(relevant, np.arange(width), -2)
    qrels[:, :, 1] = relevant
    run = np.zeros((n, depth, 2))
    run[:, :, 0] = -1
    run[:, :, 1] = depth - np.arange(depth)  # strictly decreasing: ranx keeps the order
    rows, slots = np.nonzero(relevant & (ranks > 0))
    run[rows, ranks[rows, slots].astype(int) - 1, 0] = slots
    out = evaluate(qrels, run, list(METRICS), return_mean=False)
    return {m: np.asarray(out[m], dtype=float) for m in METRICS}


def task_questions(task: Task, qrels: Dict[str, Dict[str, int]]) -> List[str]:
    """A task's questions, sorted: those of the query language (its clean ``queries.jsonl`` beside the qrels'
    folder) that have a relevant candidate in the target. In MLQA-R a language holds a subset of the questions,
    so X->Y scores only the questions both hold. Without a queries file (a folder of qrels alone) every qrels
    question is the task's."""
    path = os.path.join(os.path.dirname(os.path.dirname(task.qrels)), task.query, "queries.jsonl")
    if not os.path.isfile(path):
        return sorted(qrels)
    asked = {str(row.get("query_id", row.get("text_id"))) for _, row in iter_jsonl(path)}
    return sorted(q for q in qrels if q in asked)


def collect(out: str, seeds: Dict[str, List[str]], tasks: Sequence[Task], severities: Sequence[str],
            meta: dict) -> Records:
    """The records of every run of ``seeds`` ({row: [run]}) from ``<out>/runs/<run>.pkl`` (the recipe's search
    step: per task, the query set and question id of every query, the searched candidates' ids, and each
    query's top ``depth`` as positions in them). ``meta`` adds the report's settings (reference, correction,
    settings). A question missing from a query set ranks nothing (0)."""
    qrels = {task.qrels: read_qrels(task.qrels).to_dict() for task in tasks}
    listed = _tasks_meta(tasks, qrels)
    questions = {t["name"]: t["questions"] for t in listed}
    ranks, sets, depth = {}, None, None
    for run in tqdm([r for runs in seeds.values() for r in runs], desc="records", unit="run"):
        with open(os.path.join(out, "runs", f"{run}.pkl"), "rb") as f:
            ranked = pickle.load(f)
        for task in tasks:
            r = ranked[task.name]
            depth = depth or int(r["ranks"].shape[1])
            found = _ranks_of_relevant(r, qrels[task.qrels], questions[task.name])
            names = sorted(found)
            run_sets = {"clean": ["clean"], **{s: [n for n in names if n.split(".")[0] == s] for s in severities}}
            if sets is None:
                sets = run_sets
            if run_sets != sets or any(not v for v in run_sets.values()):
                raise InputError(f"{out}/runs/{run}.pkl: {task.name} has query sets {names}, expected "
                                 f"{sorted(n for v in (sets or run_sets).values() for n in v)}")
            ranks.update({f"{run}|{task.name}|{name}": a for name, a in found.items()})
    if depth is None or depth > 254:
        raise InputError(f"{out}: no run to record" if depth is None else f"depth {depth}: records hold <= 254")
    meta = {**meta, "seeds": {row: list(runs) for row, runs in seeds.items()}, "severities": list(severities),
            "sets": sets, "depth": depth, "tasks": listed}
    return Records(meta, ranks)


def task_list(tasks: Sequence[Task]) -> List[dict]:
    """The records' description of ``tasks`` (``meta["tasks"]``): each task's name, languages, qrels file and
    questions (``task_questions``), read from the qrels."""
    return _tasks_meta(tasks, {task.qrels: read_qrels(task.qrels).to_dict() for task in tasks})


def _tasks_meta(tasks: Sequence[Task], qrels: Dict[str, Dict[str, Dict[str, int]]]) -> List[dict]:
    """``task_list`` from qrels already read ({qrels file: qrels})."""
    return [{"name": t.name, "query": t.query, "target": t.target, "searched": list(t.searched), "qrels": t.qrels,
             "questions": task_questions(t, qrels[t.qrels])} for t in tasks]


def merge(parts: Dict[str, "Records"], seeds: Dict[str, List[str]], tasks: List[dict], meta: dict) -> Records:
    """The records of a report from one run's records each (``parts``: {file: records}; the XMRC recipe's
    ``records/<run>.npz``, some perhaps carried from an earlier sitting elsewhere): rows and their runs
    ``seeds``, this build's tasks (``task_list``) and ``meta``'s report settings. A part whose tasks or their
    questions differ from this build's (its qrels file may lie elsewhere), or whose query sets, severities or
    depth differ from the first part's, was made on other data or settings: refused, naming its file."""
    def shape(part_tasks):
        return [{k: v for k, v in t.items() if k != "qrels"} for t in part_tasks]

    if not parts:
        raise InputError("no run to record")
    first = next(iter(parts.values())).meta
    ranks = {}
    for path, part in parts.items():
        if shape(part.meta["tasks"]) != shape(tasks):
            raise InputError(f"{path}: made on other data (its tasks or their questions are not this build's)")
        differ = [k for k in ("sets", "severities", "depth") if part.meta[k] != first[k]]
        if differ:
            raise InputError(f"{path}: made with other settings ({', '.join(differ)} differ from "
                             f"{next(iter(parts))}'s)")
        ranks.update(part.ranks)
    merged = Records({**meta, "seeds": {row: list(runs) for row, runs in seeds.items()},
                      **{k: first[k] for k in ("severities", "sets", "depth")}, "tasks": tasks}, {})
    missing = [key for key in merged.keys() if key not in ranks]
    if missing:
        raise InputError(f"{len(missing)} records missing from the runs' files, e.g. {missing[0]}")
    merged.ranks = {key: ranks[key] for key in merged.keys()}
    return merged


def _ranks_of_relevant(r: dict, qrels: Dict[str, Dict[str, int]], questions: List[str]) -> Dict[str, np.ndarray]:
    """{query set: uint8 [questions, width]}: the rank of each relevant candidate of each question in that
    set's ranking (0: not in it)."""
    graded = next((q for q in questions if any(rel > 1 for rel in qrels[q].values())), None)
    if graded is not None:
        raise InputError(f"question {graded}: graded relevance; records hold binary judgements (XMRC's)")
    width = max(len(qrels[q]) for q in questions)
    code = {d: i for i, d in enumerate(r["doc_ids"])}
    relevant = np.full((len(questions), width), -2, dtype=np.int64)  # -2: no candidate (never a ranked code)
    for i, q in enumerate(questions):
        for j, doc in enumerate(sorted(d for d, rel in qrels[q].items() if rel > 0)):
            relevant[i, j] = code.get(doc, -3)  # -3: relevant but never searched, so never ranked
    row_of = {q: i for i, q in enumerate(questions)}
    set_names, ranked = np.asarray(r["set"]), np.asarray(r["ranks"])
    rows = np.array([row_of.get(q, -1) for q in r["qid"]])
    out = {}
    for name in sorted(set(r["set"])):
        take = np.flatnonzero((set_names == name) & (rows >= 0))
        ranks = np.zeros((len(questions), width), dtype=np.uint8)
        hits = ranked[take][:, None, :] == relevant[rows[take]][:, :, None]  # [taken, width, depth]
        position = np.where(hits.any(axis=2), hits.argmax(axis=2) + 1, 0)
        ranks[rows[take]] = position
        ranks[relevant == -2] = PAD
        out[name] = ranks
    return out

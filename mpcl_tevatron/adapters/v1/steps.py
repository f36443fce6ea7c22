"""The v1 command lines of the recipe's train and encode steps (imports no Tevatron module: it only names flags).

The XMRC recipe (``mpcl_tevatron/recipes/xmrc.py``) asks the installed version's ``steps`` for these, so one
recipe drives either version; ``adapters/v2/steps.py`` has the same two functions in v2's words.
"""

from __future__ import annotations

from typing import List


def train_flags(train_jsonl_dir: str, train_jsonl: str, group_size: int, q_len: int, p_len: int) -> List:
    """Data and length flags of ``python -m mpcl_tevatron.driver.train`` under v1."""
    return ["--train_dir", train_jsonl_dir, "--train_n_passages", group_size, "--q_max_len", q_len,
            "--p_max_len", p_len, "--dataset_proc_num", 1]


def encode_flags(input_jsonl: str, output_pkl: str, is_query: bool, max_len: int) -> List:
    """Data and length flags of ``python -m mpcl_tevatron.driver.encode`` under v1 (reads ``text_id``/``text``)."""
    length = ["--q_max_len", max_len] if is_query else ["--p_max_len", max_len]
    return ["--encode_in_path", input_jsonl, "--encoded_save_path", output_pkl, *length, "--dataset_proc_num", 1,
            *(["--encode_is_qry"] if is_query else [])]


def precision_flags(precision: str, step: str) -> List:
    """``--bf16`` for ``step`` ("train" or "encode") at ``precision`` "bf16": the HF Trainer's autocast in
    training, the v1 encode driver's ``torch.autocast`` in encoding (weights stay float32 in both)."""
    return ["--bf16"] if precision == "bf16" else []

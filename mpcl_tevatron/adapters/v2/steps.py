"""The v2 command lines of the recipe's train and encode steps (imports no Tevatron module: it only names flags).

The same two functions as ``adapters/v1/steps.py``, in v2's words: a training file instead of a folder, the
group size and lengths under their v2 names, and v2's encode input (``query_id``/``query`` for queries,
``docid``/``text`` for passages, which the recipe's encode files carry beside v1's ``text_id``/``text``).
"""

from __future__ import annotations

from typing import List


def train_flags(train_jsonl_dir: str, train_jsonl: str, group_size: int, q_len: int, p_len: int) -> List:
    """Data and length flags of ``python -m mpcl_tevatron.driver.train`` under v2."""
    return ["--dataset_path", train_jsonl, "--train_group_size", group_size, "--query_max_len", q_len,
            "--passage_max_len", p_len]


def encode_flags(input_jsonl: str, output_pkl: str, is_query: bool, max_len: int) -> List:
    """Data and length flags of ``python -m mpcl_tevatron.driver.encode`` under v2."""
    length = ["--query_max_len", max_len] if is_query else ["--passage_max_len", max_len]
    return ["--dataset_path", input_jsonl, "--encode_output_path", output_pkl, *length,
            *(["--encode_is_query"] if is_query else [])]


def precision_flags(precision: str, step: str) -> List:
    """v2's ``--bf16`` loads the weights in bfloat16. In training that is v2's own meaning, kept. In encoding
    v2 then hands bfloat16 representations to numpy, which cannot take them ("unsupported ScalarType
    BFloat16"), so encoding runs in float32 under v2."""
    return ["--bf16"] if precision == "bf16" and step == "train" else []

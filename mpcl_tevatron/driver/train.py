"""``python -m mpcl_tevatron.driver.train``: Tevatron's train command with ``--loss`` and typo'd variants."""

import sys

from mpcl_tevatron.adapters import detect
from mpcl_tevatron.io import InputError


def main(argv=None):
    if detect() == "v2":
        from mpcl_tevatron.adapters.v2.train import main as adapter_main
    else:
        from mpcl_tevatron.adapters.v1.train import main as adapter_main
    try:
        return adapter_main(argv)
    except (InputError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)  # as argparse and the other mains exit on bad input


if __name__ == "__main__":
    main()

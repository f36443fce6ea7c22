import sys

from . import ModelNotInstalled, minilm_path

USAGE = "usage: python -m mpcl_tevatron.models minilm   (prints the model directory)"

if len(sys.argv) != 2 or sys.argv[1] not in ("minilm",):
    sys.exit(USAGE)
try:
    print(minilm_path())
except ModelNotInstalled as e:
    sys.exit(f"error: {e}")

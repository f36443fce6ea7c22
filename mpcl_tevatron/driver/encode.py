"""``python -m mpcl_tevatron.driver.encode``: Tevatron's encode command, reading the pooling and prefixes a
model directory records (``mpcl_config.json``)."""

from mpcl_tevatron.driver import run_adapter


def main(argv=None):
    return run_adapter("encode", argv)


if __name__ == "__main__":
    main()

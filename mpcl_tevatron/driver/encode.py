"""``python -m mpcl_tevatron.driver.encode``: Tevatron's encode command, reading the pooling and prefixes a
model directory records (``mpcl_config.json``)."""

from mpcl_tevatron.adapters import detect


def main(argv=None):
    if detect() == "v2":
        from mpcl_tevatron.adapters.v2.encode import main as adapter_main
    else:
        from mpcl_tevatron.adapters.v1.encode import main as adapter_main
    return adapter_main(argv)


if __name__ == "__main__":
    main()

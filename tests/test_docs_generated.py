"""The reference docs are generated from the firmware's tables and current."""

from tools import gen_docs


def test_docs_match_the_firmware_tables():
    assert gen_docs.main(["--check"]) == 0, "run: python -m tools.gen_docs"

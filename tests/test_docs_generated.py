"""The reference docs are generated from the firmware's tables and current."""

from tools import gen_docs


def test_docs_match_the_firmware_tables():
    assert gen_docs.main(["--check"]) == 0, "run: python -m tools.gen_docs"


def test_every_protection_source_has_a_documented_unit_and_a_limits_row():
    import protection as pr
    assert sorted(gen_docs.SRC_UNIT) == list(range(pr.N_SRC))
    assert len(pr.SOURCES) == pr.N_SRC
    for i in range(pr.N_PROT):
        lo, hi, dlo, dhi = pr.limits(i)
        p = pr.PROTECTIONS[i]
        assert lo <= p[pr.P_PICKUP] <= hi and dlo <= p[pr.P_DELAY] <= dhi, p[pr.P_NAME]
        assert p[pr.P_FLOOR] <= p[pr.P_CLASS], p[pr.P_NAME]

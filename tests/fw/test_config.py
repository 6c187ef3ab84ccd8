"""Settings: out-of-range or malformed values are refused, old value kept."""

from config import Config, SETTINGS
import fuels


def test_defaults_are_inside_their_own_limits():
    for name, default, lo, hi in SETTINGS:
        assert lo <= default <= hi, name


def test_out_of_range_value_is_refused_and_old_value_kept():
    c = Config()
    old = c.kp_pu_x100
    assert not c.set("kp_pu_x100", 10001)
    assert not c.set("kp_pu_x100", -1)
    assert c.kp_pu_x100 == old


def test_non_integer_and_unknown_settings_are_refused():
    c = Config()
    assert not c.set("kp_pu_x100", "400")
    assert not c.set("kp_pu_x100", True)
    assert not c.set("no_such_setting", 1)


def test_only_50_or_60_hz():
    c = Config()
    assert not c.set("f_nom_hz", 55)
    assert c.f_nom_hz == 60
    assert c.set("f_nom_hz", 50)
    assert c.rated_rpm_x10 == 15000


def test_tick_must_divide_a_second():
    c = Config()
    assert not c.set("tick_ms", 7)
    assert c.tick_ms == 10
    assert c.set("tick_ms", 20)


def test_every_fuel_derives_sane_limits():
    for code in range(fuels.N_FUELS):
        c = Config()
        assert c.set("fuel", code)
        assert 0 <= c.fuel_min < c.fuel_nl < c.fuel_max <= 10000
        assert c.p_fuel_rated_kw_x10 <= c.p_rated_kw_x10
        assert c.rate_up_tick > 0 and c.rate_dn_tick > 0


def test_hydrogen_has_no_ignition_cut():
    c = Config()
    assert c.set("fuel", fuels.FUEL_H2)
    assert c.ign_cut_max == 0


def test_fuel_names_resolve():
    assert fuels.fuel_code("biogas") == fuels.FUEL_BIOGAS
    assert fuels.fuel_code("diesel") == -1

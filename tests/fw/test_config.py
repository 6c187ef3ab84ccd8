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


def test_a_map_line_that_does_not_rise_is_refused_and_the_old_one_kept():
    c = Config()
    assert c.set_many((("map_nl_kpa_x10", 600), ("map_fl_kpa_x10", 2900))) is None
    assert not c.set("map_fl_kpa_x10", 600)
    assert not c.set("map_nl_kpa_x10", 2850)
    assert "map_fl_kpa_x10" in c.set_many((("map_nl_kpa_x10", 2000), ("map_fl_kpa_x10", 1500)))
    assert (c.map_nl_kpa_x10, c.map_fl_kpa_x10) == (600, 2900)
    assert (c.map_line_nl, c.map_line_span) == (600, 2300)


def test_the_map_line_is_the_fuel_tables_until_both_ends_are_set_and_either_end_may_go_first():
    for code in range(fuels.N_FUELS):
        c = Config()
        assert c.set("fuel", code)
        row = fuels.FUELS[code]
        table = (row[fuels.F_MAP_NL_KPA_X10], row[fuels.F_MAP_FL_KPA_X10] - row[fuels.F_MAP_NL_KPA_X10])
        assert (c.map_line_nl, c.map_line_span) == table
        assert c.set("map_fl_kpa_x10", 2900)      # one end alone: still the table's
        assert (c.map_line_nl, c.map_line_span) == table
        assert c.set("map_nl_kpa_x10", 580)
        assert (c.map_line_nl, c.map_line_span) == (580, 2320)
        c = Config()
        assert c.set("map_nl_kpa_x10", 580) and c.set("map_fl_kpa_x10", 2900)
        assert table[1] >= 100                    # every fuel's own line rises


def test_fleet_settings_refuse_a_stack_without_this_unit_or_its_master():
    c = Config()
    assert c.set_many((("fleet_unit_id", 2),)) is not None      # mask 0: not in the stack
    assert c.fleet_unit_id == 0
    assert c.set_many((("fleet_unit_id", 2), ("fleet_mask", 1 << 2))) is not None  # no master
    assert c.set_many((("fleet_unit_id", 2), ("fleet_mask", (1 << 1) | (1 << 2)))) is None
    assert c.set_many((("fleet_master_id", 3),)) is not None
    assert c.fleet_master_id == 1 and c.fleet_unit_id == 2


def test_the_dead_bus_claim_cannot_be_set_below_its_floor_by_any_write():
    """deadbus.min_claim_ms for the share link (stale 300, period 50,
    latency 50, detection 200) plus the breaker's close time: a floor that
    follows gcb_close_time_ms, whichever is written first."""
    import deadbus
    c = Config()
    floor = deadbus.min_claim_ms(300, 50, 50, c.gcb_close_time_ms, 200)
    assert not c.set("fleet_claim_ms", floor - 1) and c.fleet_claim_ms == 1000
    assert c.set("fleet_claim_ms", floor)
    # a longer breaker close time raises the floor: refused while the claim is short
    assert not c.set("gcb_close_time_ms", c.gcb_close_time_ms + 1)
    assert c.set_many((("gcb_close_time_ms", 100), ("fleet_claim_ms", floor + 50))) is None
    for v in (0, -1, 99, 100, floor + 49):
        assert not c.set("fleet_claim_ms", v), v
    assert c.fleet_claim_ms == floor + 50


def test_pm_stop_pct_must_stay_below_pm_start_pct():
    c = Config()
    assert not c.set("pm_stop_pct", 80) and not c.set("pm_start_pct", 60)
    assert c.set_many((("pm_start_pct", 50), ("pm_stop_pct", 40))) is None

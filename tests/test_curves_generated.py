"""The inverse-time overcurrent table (firmware/curves.py) is what
tools/gen_curves.py generates, the firmware's integer lookup of it is within
1 % of the curve formulas, and no intermediate leaves the small-int range."""

import subprocess
import sys

from conftest import ROOT
from host_sim import firmware_path, rangecheck
from tools import gen_curves

firmware_path()
import curves  # noqa: E402  (firmware modules, flat names as on the board)
import overcurrent  # noqa: E402


def test_checked_in_table_is_what_the_generator_writes():
    p = subprocess.run([sys.executable, "-m", "tools.gen_curves", "--check"],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr


def test_check_fails_on_a_stale_table(tmp_path, capsys):
    stale = tmp_path / "curves.py"
    stale.write_text(gen_curves.render().replace("M_X100 = (", "M_X100 = (99, ", 1))
    assert gen_curves.main(["--check", "--out", str(stale)]) == 1
    assert "stale" in capsys.readouterr().err
    assert gen_curves.main(["--check", "--out", str(tmp_path / "missing.py")]) == 1


def test_generated_module_matches_the_generator_tables():
    grid, rates = gen_curves.build_tables()
    assert curves.M_X100 == grid and curves.RATES_PPM_S == rates
    assert curves.CURVE_NAMES == gen_curves.CURVE_NAMES
    assert curves.N_GRID == len(grid) and curves.N_CURVES == len(gen_curves.CURVES)
    for code, c in enumerate(gen_curves.CURVES):
        assert getattr(overcurrent, c[0]) == code


def worst_time_error(code, m_lo=1.05, m_hi=20.0, pickup_a_x10=10000, step=3):
    """Worst |t_table / t_formula - 1| of the firmware's own integer lookup
    (InverseTime.rate_ppm_s at TMS 1), at every `step` counts of current
    from m_lo to m_hi x pickup; returns (error, M)."""
    e = overcurrent.InverseTime(code, pickup_a_x10, 1000, 10)
    worst, at = 0.0, None
    for i in range(int(m_lo * pickup_a_x10), int(m_hi * pickup_a_x10) + 1, step):
        m = i / pickup_a_x10
        err = abs(gen_curves.rate_ppm_s(code, m) / e.rate_ppm_s(i) - 1.0)
        if err > worst:
            worst, at = err, m
    return worst, at


def test_interpolated_times_are_within_1_percent_of_the_formula():
    bad = {}
    for code, name in enumerate(gen_curves.CURVE_NAMES):
        err, at = worst_time_error(code)
        if err > 0.01:
            bad[name] = (err, at)
    assert not bad, bad


def test_no_intermediate_leaves_the_small_int_range():
    """Every curve, pickups from 0.1 A to the maximum, TMS 0.05..2.0, the
    longest tick and reset, currents from 0 to 50 x pickup: every mul_div
    operand and product, every local and attribute stays within 2**30."""
    IT = overcurrent.InverseTime
    with rangecheck.RangeChecker() as rc:
        for code in range(overcurrent.N_CURVES):
            for pickup in (1, 37, 2500, overcurrent.PICKUP_A_X10_MAX):
                for tms in (overcurrent.TMS_X1000_MIN, 1000, overcurrent.TMS_X1000_MAX):
                    for tick_ms, reset_ms in ((10, 0), (overcurrent.TICK_MS_MAX,
                                                        overcurrent.RESET_MS_MAX)):
                        e = IT(code, pickup, tms, tick_ms, reset_ms)
                        for m_x100 in (101, 105, 110, 150, 199, 200, 333, 999, 1500,
                                       1999, 2000, 2001, 3000, 5000):
                            i = pickup * m_x100 // 100
                            for _ in range(3):
                                e.update(i)
                            e.update(0)
                        e.reset()
                        e.update(pickup * 50)
                        e.update(pickup * 50 + 1)
    assert rc.lines > 10000              # the tracer really saw the firmware
    assert not rc.violations, rc.violations
    assert rc.max_abs < 2 ** 30

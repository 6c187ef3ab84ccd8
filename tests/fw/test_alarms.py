"""Alarm handling: latch, first-out, acknowledge, counters, event log."""

import hal
import protection as pr
import alarms as al
from helpers import loaded_controller


def test_first_out_is_the_first_alarm_and_counters_count():
    h, c = loaded_controller()
    h.next_in[hal.IN_BATT_MV] = 20000       # battery low: warning after 10 s
    h.next_in[hal.IN_COOLANT_DC] = 980      # pre-alarm after 5 s
    for _ in range(1100):
        c.tick()
    a = c.alarms
    assert a.first_out == pr.index_of("high_coolant_temp_pre")
    assert a.latched[pr.index_of("battery_under_voltage")]
    assert a.count[pr.index_of("high_coolant_temp_pre")] == 1
    assert a.worst == pr.CL_WARNING
    assert h.last_out[hal.OUT_DO] & hal.DO_COMMON_ALARM


def test_acknowledge_silences_the_horn_but_keeps_the_alarm():
    h, c = loaded_controller()
    h.next_in[hal.IN_COOLANT_DC] = 980
    for _ in range(600):
        c.tick()
    assert h.last_out[hal.OUT_DO] & hal.DO_HORN
    c.alarms.ack(0)
    c.tick()
    assert not h.last_out[hal.OUT_DO] & hal.DO_HORN
    assert c.alarms.latched[pr.index_of("high_coolant_temp_pre")]


def test_every_alarm_is_logged_with_its_code_and_value():
    h, c = loaded_controller()
    n0 = c.log.count()
    h.next_in[hal.IN_COOLANT_DC] = 980
    for _ in range(600):
        c.tick()
    from array import array
    e = array("i", [0] * 5)
    found = False
    for i in range(n0, c.log.count()):
        c.log.read(i, e)
        if e[3] == 1003:
            found = e[4] == 980
    assert found


def test_latched_bits_split_into_two_small_int_words():
    h, c = loaded_controller()
    c.alarms.latched[pr.index_of("emergency_stop")] = 1
    c.alarms.latched[pr.index_of("overspeed")] = 1
    c.alarms._summarise()
    assert c.alarms.bits0 & 1
    assert c.alarms.bits1 == 1 << (pr.index_of("emergency_stop") - 30)
    assert c.alarms.bits0 < 2 ** 30 and c.alarms.bits1 < 2 ** 30


def test_reset_reports_what_it_could_not_clear():
    h, c = loaded_controller()
    h.next_in[hal.IN_DI] |= hal.DI_KNOCK
    for _ in range(30):
        c.tick()
    assert c.alarms.latched[pr.index_of("knock")]
    assert c.alarms.reset(0) == 1
    h.next_in[hal.IN_DI] &= ~hal.DI_KNOCK
    c.tick()
    assert c.alarms.reset(0) == 0
    assert c.alarms.first_out == -1
    assert al.EV_RESET == 2001


def test_a_failed_sender_stops_the_set_after_two_seconds_and_holds_it_stopped():
    """DI_SENDER_FAULT (a sender reads open or short: its protection is
    blind) latches sender_fault, a soft shutdown, after its 2 s delay and
    not before; it is fixed, and it cannot be reset while the sender is
    still failed."""
    import sequencer as sq
    h, c = loaded_controller()
    i = pr.index_of("sender_fault")
    assert pr.PROTECTIONS[i][pr.P_FIXED] and pr.PROTECTIONS[i][pr.P_PICKUP] == hal.DI_SENDER_FAULT
    h.next_in[hal.IN_DI] |= hal.DI_SENDER_FAULT
    for _ in range(195):
        c.tick()
    assert not c.alarms.latched[i]
    for _ in range(10):
        c.tick()
    assert c.alarms.latched[i]
    assert c.prot.cls[i] == pr.CL_SOFT
    assert c.seq.state in (sq.ST_UNLOAD, sq.ST_OPENING, sq.ST_COOLDOWN, sq.ST_STOPPING)
    assert c.alarms.reset(0) == 1            # still failed: it stays
    h.next_in[hal.IN_DI] &= ~hal.DI_SENDER_FAULT
    c.tick()
    assert c.alarms.reset(0) == 0

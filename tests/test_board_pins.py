"""Each board's pin map (boards/<board>/board.py, parsed with ast, never
imported as board code): no pin used twice, every pin one the chip (and the
dev board) has, outputs only on pins that can drive, analog inputs only on
ADC pins (the ESP32's ADC1: ADC2 stops while Wi-Fi runs), the ESP32's
strapping pins kept off the relay lines, the RP2040's PWM outputs on
separate slices, and the I/O bus and sender maps complete."""

import ast
import os
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "firmware"))
import hal  # noqa: E402

BOARDS = ("rp2040_pico", "esp32_devkitc")

# Pins the board reads (everything else named *_PIN / *_PINS is treated as
# an output, the stricter case: a new input on an input-only pin must be
# added here).
INPUT_NAMES = {"MPU_PIN", "ZC_PIN", "RS485_RX_PIN", "METER_MISO_PIN", "XIO_QH_PIN",
               "SAFE_MODE_PIN", "SHARE_CAN_INT_PIN", "SHARE_CAN_MISO_PIN", "SHARE_RX_PIN"}
# Lines whose state decides whether a relay is energised.
RELAY_NAMES = {"XIO_CLK_PIN", "XIO_SER_PIN", "XIO_LATCH_PIN", "XIO_OE_PIN"}

RP2040_GPIO = set(range(30))
PICO_HEADER = set(range(23)) | {26, 27, 28}      # 23, 24, 29: the Pico's own supply / sensing
PICO_LED = 25
RP2040_ADC = {26, 27, 28, 29}
ESP32_GPIO = set(range(40)) - {20, 24, 28, 29, 30, 31}
ESP32_FLASH = set(range(6, 12))
ESP32_INPUT_ONLY = set(range(34, 40))
ESP32_UART0 = {1, 3}                             # the REPL / HIL port
ESP32_ADC1 = set(range(32, 40))
ESP32_STRAPPING = {0, 2, 5, 12, 15}


class BoardMap:
    def __init__(self, board):
        path = os.path.join(ROOT, "boards", board, "board.py")
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        self.values = {}
        self.nodes = {}
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)):
                self.nodes[node.targets[0].id] = node.value
        for name, node in self.nodes.items():
            self.values[name] = self.eval(node)

    def eval(self, node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.eval(node.operand)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "const":
            return self.eval(node.args[0])
        if isinstance(node, ast.Tuple):
            return tuple(self.eval(e) for e in node.elts)
        if isinstance(node, ast.Name):
            return self.eval(self.nodes[node.id])
        if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "hal":
            return getattr(hal, node.attr)
        raise AssertionError("board.py: cannot read %s" % ast.dump(node))

    def uses(self):
        """[(name, pin, role)] role: 'in', 'out', 'adc'."""
        out = []
        for name, v in self.values.items():
            if name.endswith("_PIN"):
                role = "adc" if "_ADC_" in name else "in" if name in INPUT_NAMES else "out"
                out.append((name, v, role))
            elif name.endswith("_PINS"):
                for i, p in enumerate(v):
                    out.append(("%s[%d]" % (name, i), p, "out"))
        for name, role in (("DI_PINS", "in"), ("DO_PINS", "out")):
            for bit, pin, low in self.values.get(name, ()):
                out.append(("%s bit %d" % (name, bit), pin, role))
        return out


@pytest.fixture(params=BOARDS)
def board(request):
    return request.param, BoardMap(request.param)


def test_no_pin_is_used_twice(board):
    name, m = board
    seen = {}
    for what, pin, role in m.uses():
        assert isinstance(pin, int), (name, what, pin)
        assert pin not in seen, "%s: GPIO%d is both %s and %s" % (name, pin, seen[pin], what)
        seen[pin] = what
    # Every direct sender sits on a pin declared as an ADC pin, not a new one.
    adc = {p for w, p, r in m.uses() if r == "adc"}
    for row in m.values.get("SENDER_DIRECT", ()):
        assert row[1] in adc, (name, row)


def test_every_pin_is_valid_for_its_chip_and_role(board):
    name, m = board
    uses = m.uses()
    assert len(uses) >= 20          # the parse found the map
    for what, pin, role in uses:
        if name == "rp2040_pico":
            assert pin in RP2040_GPIO, (what, pin)
            assert pin in PICO_HEADER or (pin == PICO_LED and what == "LED_PIN"), (what, pin)
            if role == "adc":
                assert pin in RP2040_ADC, (what, pin)
        else:
            assert pin in ESP32_GPIO, (what, pin)
            assert pin not in ESP32_FLASH, (what, pin)
            assert pin not in ESP32_UART0, (what, pin)
            if role == "out":
                assert pin not in ESP32_INPUT_ONLY, "%s: GPIO%d cannot drive" % (what, pin)
            if role == "adc":
                assert pin in ESP32_ADC1, "%s: GPIO%d is not on ADC1" % (what, pin)
            if what in RELAY_NAMES or what.startswith("DO_PINS"):
                assert pin not in ESP32_STRAPPING, "%s: GPIO%d is a strapping pin" % (what, pin)
    if name == "esp32_devkitc" and m.values.get("SAFE_MODE_PIN") in ESP32_INPUT_ONLY:
        # An input-only pin has no internal pull-up: the board must say so.
        assert m.values.get("SAFE_MODE_PULL_UP") == 0


def test_rp2040_pwm_outputs_each_have_their_own_slice():
    m = BoardMap("rp2040_pico")
    slices = [(m.values[n] >> 1) & 7 for n in ("FUEL_PWM_PIN", "AVR_PWM_PIN", "IGN_PWM_PIN")]
    assert len(set(slices)) == 3


def test_the_io_bus_and_sender_maps_are_complete(board):
    name, m = board
    v = m.values
    for pin in ("XIO_CLK_PIN", "XIO_SER_PIN", "XIO_LATCH_PIN", "XIO_OE_PIN", "XIO_QH_PIN",
                "SAFE_MODE_PIN", "SENDER_MUX_ADC_PIN", "MAP_ADC_PIN"):
        assert pin in v, (name, pin)
    di = v["DI_SR_BITS"]
    assert sorted(p for b, p, low in di) == list(range(8))
    want = set(hal.DI_NAMES) - {"meter_ok", "sender_fault"}
    assert {hal.DI_NAMES[b.bit_length() - 1] for b, p, low in di} == want
    # The safety inputs read their unsafe state on a broken wire (level 0).
    low = {hal.DI_NAMES[b.bit_length() - 1]: low for b, p, low in di}
    for s in ("estop", "gas_leak", "knock", "gcb_closed", "mb_closed"):
        assert low[s] == 1, s
    for s in ("gas_proven", "remote_start", "config_enable"):
        assert low[s] == 0, s
    do = v["DO_SR_BITS"]
    ps = [p for b, p, low in do]
    assert len(set(ps)) == len(ps) and all(0 <= p < 16 for p in ps)
    assert {hal.DO_NAMES[b.bit_length() - 1] for b, p, low in do} == set(hal.DO_NAMES)
    sel = v["SENDER_MUX_SEL_PINS"]
    chans = [row[1] for row in v["SENDER_MUX"]]
    assert len(set(chans)) == len(chans) and all(0 <= c < (1 << len(sel)) for c in chans)
    names = [row[0] for row in v["SENDER_MUX"]] + [row[0] for row in v["SENDER_DIRECT"]]
    assert sorted(names) == ["batt", "coolant", "gas", "map", "oil"]
    assert 1 <= v["WDT_TIMEOUT_MS"] <= (8388 if name == "rp2040_pico" else 60000)


def _share_problems(name, v):
    """What is wrong with a board's share-link settings (empty: nothing)."""
    sys.path.insert(0, os.path.join(ROOT, "boards", "common"))
    import mcp2515
    import sharebus485
    bad = []
    kind = v.get("SHARE_LINK")
    if kind is None:
        return bad
    if kind == "can":
        try:
            mcp2515.bit_timing(v.get("SHARE_CAN_OSC_HZ"), v.get("SHARE_CAN_BITRATE"))
        except ValueError:
            bad.append("crystal / bit rate not supported")
        if "SHARE_CAN_CS_PIN" not in v:
            bad.append("no CS")
        if v.get("SHARE_CAN_SPI_ID") != v.get("METER_SPI_ID"):
            for p in ("SHARE_CAN_SCK_PIN", "SHARE_CAN_MOSI_PIN", "SHARE_CAN_MISO_PIN"):
                if p not in v:
                    bad.append("an SPI bus of its own needs " + p)
        if v.get("SHARE_CAN_INT_PIN") is None and v.get("SHARE_TIMER_ID") is None:
            bad.append("neither an INT pin nor a timer drains the chip mid-tick")
    elif kind == "rs485":
        for p in ("SHARE_UART_ID", "SHARE_TX_PIN", "SHARE_RX_PIN", "SHARE_DE_PIN", "SHARE_BAUD",
                  "SHARE_TIMER_ID"):
            if p not in v:
                bad.append("needs " + p)
        if v.get("SHARE_UART_ID") == v.get("RS485_UART_ID"):
            bad.append("the Modbus UART")
        if "SHARE_BAUD" in v and sharebus485.slot_budget_us(v["SHARE_BAUD"], 600, 600)[1] < 0:
            bad.append("the baud rate does not fit a slot")
    else:
        bad.append("SHARE_LINK %r" % (kind,))
    t = v.get("SHARE_TIMER_ID")
    if name == "esp32_devkitc" and t is not None and t == v.get("REPL_WDT_TIMER_ID"):
        bad.append("the timer that feeds the WDT at the REPL")
    return bad


def test_the_share_link_settings_are_complete(board):
    name, m = board
    assert m.values.get("SHARE_LINK") in ("can", "rs485", None), name
    assert _share_problems(name, m.values) == [], name


def test_the_checker_catches_a_bad_map():
    # Negative controls: a duplicated pin, an output on an input-only pin,
    # the MAP on ADC2, a relay line on a strapping pin, a flash pin.
    base = BoardMap("esp32_devkitc")
    for name, bad in (("XIO_OE_PIN", base.values["LED_PIN"]), ("XIO_CLK_PIN", 34),
                      ("MAP_ADC_PIN", 25), ("XIO_LATCH_PIN", 12), ("XIO_SER_PIN", 7)):
        m = BoardMap("esp32_devkitc")
        m.values[name] = bad
        failed = False
        for test in (test_no_pin_is_used_twice, test_every_pin_is_valid_for_its_chip_and_role):
            try:
                test(("esp32_devkitc", m))
            except AssertionError:
                failed = True
        assert failed, (name, bad)
    # ... and bad share-link settings: a 1 Mbit/s CAN, no way to drain, a
    # slow RS-485, the Modbus UART, the REPL's timer.
    for name, kw in (("esp32_devkitc", {"SHARE_CAN_BITRATE": 1000000}),
                     ("esp32_devkitc", {"SHARE_TIMER_ID": None}),
                     ("esp32_devkitc", {"SHARE_TIMER_ID": 0}),
                     ("rp2040_pico", {"SHARE_LINK": "rs485", "SHARE_UART_ID": 0, "SHARE_TX_PIN": 20,
                                      "SHARE_RX_PIN": 21, "SHARE_DE_PIN": 28, "SHARE_BAUD": 115200})):
        v = dict(BoardMap(name).values)
        v.update(kw)
        assert len(_share_problems(name, v)) >= 1, (name, kw)

"""The firmware's local copies of other modules' constants (tools/gen_consts.py)
are generated from the defining module and kept in step by this test."""

import os
import re

import pytest

from tools import gen_consts


def test_every_generated_constants_block_is_up_to_date():
    assert gen_consts.run(check=True) == []


def test_a_module_with_a_block_reads_no_constant_of_its_sources_by_attribute():
    # The block exists so the tick pays nothing for a constant: a left-over
    # `hal.DI_ESTOP` would be a module look-up on every use.
    for path in gen_consts.modules():
        with open(path) as f:
            text = f.read()
        parts = gen_consts._split(text, path)
        if parts is None:
            continue
        _, srcs, _, _ = parts
        aliases = {}
        for mod, al in re.findall(r"^import ([a-z0-9_]+)(?: as ([a-z_]+))?$", text, re.M):
            aliases[al or mod] = mod
        for al, mod in aliases.items():
            if mod not in srcs:
                continue
            names = gen_consts._consts_of(mod)
            code = re.sub(r"#.*", "", text)
            for m in re.finditer(r"(?<![\w.])%s\.([A-Z][A-Z0-9_]*)\b" % re.escape(al), code):
                assert m.group(1) not in names, "%s: %s.%s" % (path, al, m.group(1))


def _fw(tmp_path, monkeypatch, files):
    for name, text in files.items():
        (tmp_path / (name + ".py")).write_text(text)
    monkeypatch.setattr(gen_consts, "FW", str(tmp_path))
    monkeypatch.setattr(gen_consts, "BOARDS", str(tmp_path / "no-boards"))
    monkeypatch.syspath_prepend(os.path.join(gen_consts.ROOT, "firmware"))
    monkeypatch.syspath_prepend(str(tmp_path))


BLOCK = "# -- constants of %s (tools/gen_consts.py; do not edit) --\n" \
        "# -- end of generated constants --\n"


def test_the_generator_writes_the_used_names_with_their_values(tmp_path, monkeypatch):
    _fw(tmp_path, monkeypatch, {
        "gca": "from fixpt import const\nA_ONE = const(1)\nA_TWO = const(-2)\nA_UNUSED = const(3)\n",
        "gcb": "from fixpt import const\n" + BLOCK % "gca" + "x = _A_TWO + _A_ONE\n",
    })
    assert len(gen_consts.run(check=True)) == 1
    gen_consts.run(check=False)
    text = (tmp_path / "gcb.py").read_text()
    assert "_A_ONE = const(1)  # gca.A_ONE\n_A_TWO = const(-2)  # gca.A_TWO\n" in text
    assert "A_UNUSED" not in text
    assert gen_consts.run(check=True) == []


def test_a_stale_value_is_reported(tmp_path, monkeypatch):
    _fw(tmp_path, monkeypatch, {
        "gcc": "from fixpt import const\nC_X = const(5)\n",
        "gcd": "from fixpt import const\n"
               "# -- constants of gcc (tools/gen_consts.py; do not edit) --\n"
               "_C_X = const(4)  # gcc.C_X\n"
               "# -- end of generated constants --\ny = _C_X\n",
    })
    assert len(gen_consts.run(check=True)) == 1
    assert gen_consts.main(["--check"]) == 1


@pytest.mark.parametrize("files,msg", [
    ({"gce": "from fixpt import const\nE_X = const(1)\n",
      "gcf": "from fixpt import const\nE_X = const(2)\n",
      "gcg": "from fixpt import const\n" + BLOCK % "gce, gcf" + "z = _E_X\n"}, "is in"),
    ({"gch": "from fixpt import const\nH_X = const(1)\n",
      "gci": "from fixpt import const\n" + BLOCK % "gch" + "_H_X = const(9)\nz = _H_X\n"},
     "defined here"),
])
def test_an_ambiguous_or_shadowed_name_is_refused(tmp_path, monkeypatch, files, msg):
    _fw(tmp_path, monkeypatch, files)
    with pytest.raises(gen_consts.GenError, match=msg):
        gen_consts.run(check=True)

"""DeRelayL's round shortcuts from the present strategy profile change nothing (issue 20).

``DeRelayLProtocol._profile`` lets a round skip behaviour gathers and mask no-ops when, for
example, every present owner strategy transmits.  Each run here is repeated with the
shortcuts off (every flag False: the general code path) and every output table must be
identical, including runs whose profile changes mid-run (adaptation: the cache must follow).
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from derelay.engine.model import MechanismModel
from derelay.mechanism.derelayl import protocol as proto
from derelay.model import SimConfig, run_simulation

SMALL = {"n_participants": 64, "n_miners": 32}
SOME_DEVIANTS = {"T": {"N": 0.8, "NTr": 0.2}, "DBM": {"N": 0.9, "PI": 0.1}}


def _general(self):
    roles = proto.BLOCK_ROLE.values()
    return SimpleNamespace(
        all_transmit=False,
        all_train=False,
        all_broadcast=False,
        all_valid=dict.fromkeys(roles, False),
        all_blocks_valid=False,
        all_normal=False,
    )


CASES = {
    "authors_all_normal": ("authors_code", {}),
    "paper_all_normal": ("paper_text", {}),
    "some_deviants": ("paper_text", {"strategies": SOME_DEVIANTS}),
    "imitation": (
        "authors_code",
        {"strategies": SOME_DEVIANTS, "adaptation": "imitation", "adaptation_rate": 0.5},
    ),
    "simulated_chain": ("paper_text", {"chain": "simulated"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_shortcuts_equal_the_general_round(case, monkeypatch):
    preset, upd = CASES[case]
    cfg = SimConfig.from_preset(preset).with_updates(params=SMALL, **upd)
    rounds = 8 if case == "simulated_chain" else 30
    fast = run_simulation(cfg, rounds=rounds, seed=3)
    monkeypatch.setattr(proto.DeRelayLProtocol, "_profile", _general)
    monkeypatch.setattr(MechanismModel, "all_codes_zero", lambda self: False)
    slow = run_simulation(cfg, rounds=rounds, seed=3)
    for name in ("rounds", "agents", "utilities"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(slow, name), check_exact=True)


def test_the_profile_follows_strategy_changes():
    from derelay.model import DeRelayModel

    cfg = SimConfig.from_preset("authors_code").with_updates(params=SMALL)
    m = DeRelayModel(cfg, seed=0)
    m.run(2)
    assert m.protocol._profile().all_train and m.protocol._profile().all_normal
    m.set_strategy(5, "T", "NTr")
    prof = m.protocol._profile()
    assert not prof.all_train and not prof.all_normal and prof.all_broadcast
    assert not m.all_codes_zero()
    m.set_strategy(5, "T", "N")
    assert m.all_codes_zero() and m.protocol._profile().all_normal


@pytest.mark.parametrize("m", [1, 2, 7, 128, 50_000, 2**33])
def test_draw_chain_winners_equal_one_mine_call_per_block(m):
    """One vectorised draw of k winners = k mine() calls, value by value and in the
    generator's state afterwards (so the rest of the run is unchanged)."""
    import numpy as np

    from derelay.mechanism.derelayl.chainsim import DrawChain

    miners = np.arange(m, dtype=np.int64) * 3 if m < 10**6 else None
    a, b = DrawChain(np.random.default_rng(9)), DrawChain(np.random.default_rng(9))
    for _ in range(5):
        if miners is None:  # a range beyond 32 bits: the generator's other branch
            one = [int(a.rng.integers(m)) for _ in range(4)]
            many = b.rng.integers(m, size=4).tolist()
        else:
            valid = np.ones(m, dtype=bool)
            one = [a.mine(k, 0, miners, valid).miner for k in ("DB", "EB", "TB", "SB")]
            many = b.winners(miners, 4).tolist()
        assert one == many
        a.rng.random(3), b.rng.random(3)  # whatever comes next
    assert a.rng.bit_generator.state == b.rng.bit_generator.state

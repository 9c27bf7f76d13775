"""DeepChain (J. Weng et al., DeepChain.txt) as a derelay mechanism: ``--mechanism deepchain``.

Parties in groups of N train on their shards and trade Paillier-encrypted gradients every
``period`` local iterations (federated averaging, Sec. 6); workers aggregate; a leader drawn
by a lottery over the workers' *valid* coins (Sec. 4.2.5) proposes the block, which is
admitted when it matches the workers' majority and signed by more than 2/3 of the
committee; deposits are forfeited for misbehaviour and redistributed to honest parties.

* :mod:`.space` - the parameters (issue 15's key names);
* :mod:`.closed` - Value(p) of Sec. 4.2.2 verbatim, the worker's derived value, the
  strategies' utilities, conditions and funding;
* :mod:`.claims` - the seven claims (Thm 1 three ways, the tight condition, Thm 2's
  readings, Table 2 vs the text, packing);
* :mod:`.crypto` - Table 2, threshold rules, packing, the CNN's parameter count;
* :mod:`.timing` - Table 4's time model against Fig. 9;
* :mod:`.lottery` - the valid-coin leader lottery and its concentration study;
* :mod:`.protocol` - the ABM round on the generic engine;
* :mod:`.report` - ``reproduce(quick)``: this paper's section as data.
"""

from __future__ import annotations

from typing import Any

from derelay.mechanism import Erratum, Mechanism

from . import closed, crypto
from .claims import CLAIMS
from .space import DEEPCHAIN_SPACE

ERRATA = (
    Erratum(
        "DC-E1",
        "Sec. 4.2.2, after Value(Pr_c(P))",
        "'The above value reaches maximum only when the party behaves honestly' is false in "
        "general: Value is affine in p with slope (π_P + f_P) Pr_v - ω_P, so p = 1 is optimal "
        "iff (π_P + f_P) Pr_v >= ω_P (deepchain.tight_condition). derelay uses the condition.",
    ),
    Erratum(
        "DC-E2",
        "Thm 1 and its proof",
        "The proof shows Value(q) < 0 for q < θ ('without the loss of generality'), which does "
        "not give Value(q) < Value(θ): Value(θ) can be more negative. The stated conclusion "
        "fails (deepchain.thm1_intended has a replayed counterexample); it holds with π_P >= ω_P "
        "added (deepchain.thm1_with_ir).",
    ),
    Erratum(
        "DC-E3",
        "Thm 2",
        "'f_W/π_W * Pr_leader' has no stated grouping and the proof is omitted; the three "
        "readings are not equivalent (deepchain.thm2_readings).",
    ),
    Erratum(
        "DC-E4",
        "Sec. 4.2.4 vs Table 2",
        "The text's threshold set t ∈ {N/3 + 1, ..., N} is not an integer range unless 3 | N and "
        "disagrees with Table 2 at N = 6 (table 2, text 3) and, extended, N = 9 "
        "(deepchain.threshold_table_vs_text). derelay exposes both (threshold = table|text).",
    ),
    Erratum(
        "DC-E5",
        "Sec. 5.1, Lemma 1",
        "'at least t participants are honest' and 't-robust ... up to t corrupted parties' "
        "contradict t-of-N decryption: t corrupted parties can decrypt by themselves; privacy "
        "needs fewer than t corrupted, robustness at least t honest.",
    ),
    Erratum(
        "DC-E6",
        "Sec. 4.2.4 packing, Sec. 6 'only one cipher is generated for a party'",
        "A 1024-bit plaintext holds at most 440 packed values even for 1-bit values and N = 4; "
        "the CNN has 252,398 parameters (deepchain.packing). The packing also needs "
        "non-negative integers, so signed real gradients need an offset and quantisation the "
        "paper does not state.",
    ),
    Erratum(
        "DC-E7",
        "Sec. 4.1 vs Sec. 4.2.4 update formulas",
        "C(W_{i+1}) = (1/N) C(W_i) Π C(ΔW_{i,j}) (Sec. 4.1) and C(W_i) = C(W_{i-1}) (1/N) Π "
        "C(-ΔW_{i,j}) (Sec. 4.2.4) differ in the sign of ΔW and in what 1/N scales; 'multiplying' "
        "a Paillier ciphertext by 1/N is not a homomorphic operation on real plaintexts. derelay "
        "averages the parties' models (FedAvg, Sec. 6).",
    ),
    Erratum(
        "DC-E8",
        "Sec. 6, Fig. 9",
        "'the total time cost grows steadily with the number of parties', but E-7 (394,287 s) "
        "is below E-6 (394,533 s); an affine fit (Table 4's shape) gives ≈ 1,066 s per party, "
        "which puts the break-even N (t_enc + t_dec) / (t_dlW + t_avg) at most ≈ 363 parties, "
        "not 1306, unless t_downloadByParty (said to be nearly constant) carries > 72% of the "
        "per-party growth.",
    ),
    Erratum(
        "DC-E9",
        "Sec. 6, Figs. 6 and 7",
        "'the more parties participate ..., the higher the training accuracy': the parties' "
        "mean accuracy is 97.14% in E-4 and 96.91% in E-10 (the paper's own numbers), and the "
        "same baseline setting gives 96.75% and 96.51%.",
    ),
    Erratum(
        "DC-E10",
        "Sec. 4.2.2 Liveness vs Sec. 4.2.5",
        "Liveness relies on 'the larger the quantity [of rewards earned], the higher probability "
        "she can get reward', while the validity of coins is introduced to eliminate exactly "
        "that. With validity read literally (one round) and expiring genesis coins the first "
        "leader leads forever (lottery study).",
    ),
)


class DeepChain(Mechanism):
    name = "deepchain"
    title = "DeepChain: auditable, incentive-based privacy-preserving deep learning"
    paper = "J. Weng et al., DeepChain.txt"
    space = DEEPCHAIN_SPACE
    roles = (closed.PARTY, closed.WORKER)
    conditions = closed.CONDITIONS
    claims = CLAIMS
    funding = closed.FUNDING
    protocol = "derelay.mechanisms.deepchain.protocol:DeepChainProtocol"
    learning_mode = "fedavg"
    finality = "committee"
    errata = ERRATA
    #: the paper's claim for each deviation family (``derelay compare`` shows its status):
    #: Thm 1 for the party's deviations, Thm 2 for the worker's
    family_claims = {
        "lazy": "deepchain.thm1_intended",
        "poison": "deepchain.thm1_intended",
        "malformed": "deepchain.thm1_intended",
        "withhold": "deepchain.thm1_intended",
        "misreport": "deepchain.thm2_readings",
        "lazy_eval": "deepchain.thm2_readings",
        "collude": "deepchain.thm2_readings",
    }
    #: hints for the engine's contract suite (tests/test_mechanism_contract.py): runs in
    #: which the closed form's assumptions meet (unilateral deviants with full deposits,
    #: valid blocks, symmetric stakes)
    contract = {
        "params": {"n_participants": 40, "initial_coins": 1000.0},
        "rounds": 6,
        "closed_form": [
            {"role": "P", "strategy": "N", "run": {}, "rounds": 20, "tolerance": 1e-9},
            {
                "role": "P",
                "strategy": "Lazy",
                "run": {"types": {"lazy": 0.3}},
                "rounds": 20,
                "tolerance": 1e-9,
            },
            {
                "role": "P",
                "strategy": "Poison",
                "run": {"types": {"poison": 0.3}},
                "rounds": 20,
                "tolerance": 1e-9,
            },
            {
                "role": "P",
                "strategy": "Malformed",
                "run": {"types": {"malformed": 0.3}},
                "rounds": 20,
                "tolerance": 1e-9,
            },
            {
                "role": "P",
                "strategy": "Late",
                "run": {"types": {"withhold": 0.3}},
                "rounds": 20,
                "tolerance": 1e-9,
            },
            {"role": "W", "strategy": "Correct", "run": {}, "rounds": 200, "tolerance": "4se"},
        ],
    }

    def extras(self, p: Any) -> dict[str, Any]:
        """``check --json`` extras: Value(p) on a grid, the tight condition, Thm 1's
        premise, thresholds and packing at this point."""
        n = int(p.n_parties)
        grid = [i / 10 for i in range(11)]
        return {
            "value": {
                "honesty": grid,
                "value": [float(closed.party_value(p, q)) for q in grid],
                "slope": float(closed.value_slope(p)),
                "tight_condition": bool(closed.tight_condition(p)),
                "thm1_premise": bool(closed.thm1_premise(p)),
                "optimal_honesty": 1.0 if closed.value_slope(p) >= 0 else 0.0,
            },
            "worker": {
                "pr_leader": float(closed.pr_leader(p)),
                "payoff": float(closed.worker_payoff(p)),
                "value_correct": float(closed.worker_value(p, 1)),
            },
            "threshold": {
                "rule": p.threshold,
                "t_min": crypto.min_threshold(n, p.threshold),
                "table_t_min": crypto.table_threshold(n),
                "text_t_min": crypto.text_threshold(n),
                "max_adversaries": crypto.max_adversaries(n),
            },
            "packing": crypto.packing_report(n, 2**16 - 1, int(p.paillier_bits)),
        }


DEEPCHAIN = DeepChain()

__all__ = ["DEEPCHAIN", "DeepChain", "ERRATA"]

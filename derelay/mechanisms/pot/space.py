"""The parameter space of Proof of Training (issue 12's key names and defaults).

Defaults marked ``derelay`` are ours: the paper (P. Li, *Proof of Training*) gives no
value.  The Table 6 gas figures, the gas price (4.562 Gwei), the token price ($246.2),
the 30 confirmations and the (k, n) = (18, 30) multisig with 20% of the supply held by
aggregators are the paper's own.

``gas_price_coin`` converts gas to coins (coins per unit of gas).  Its default,
4.562e-9, is the reading "1 coin = 1 BNB", the token the paper settles in; 0 switches
every gas cost off.  ``gas_price_gwei`` and ``token_usd`` only price the settlement in
BNB and USD for Table 6.
"""

from __future__ import annotations

from derelay.params import COUNT_INT, COUNT_INT_POS, NONNEG, POSITIVE, PROB, Domain
from derelay.space import COMMON_SPACE, CrossConstraint, ParamSpace, ParamSpec

SHARE = Domain(lower=0.0, upper=1.0, upper_strict=True)

#: Counts and probabilities held at the point in solver queries (see :class:`PoTSpace`).
FORMAL_FIXED = ("n_providers", "n_validators", "n_verifiers", "p_train_success", "audit")


class PoTSpace(ParamSpace):
    """PoT's space: as any space, except that the counts K, n_V, n_X and the
    probabilities π (``p_train_success``) and a (``audit``) are held at the point in solver
    queries (``numeric_keys``, the default symbolic keys).

    They enter the formulas only through (1 − π)^K and (1 − a)^n_X.  With the counts
    symbolic z3 has no decision procedure for these powers (every such query ran to its
    resource limit: unknown); with the counts fixed and π, a symbolic they are polynomials
    of degree K and n_X, and one property took over a minute under load.  Every solver
    statement about PoT (``derelay prove``, claims with ``free = None``) is therefore for the
    given numbers of providers, validators and verifiers and the given π and a, over every
    reward, share, stake, cost and gas parameter.  They stay ordinary parameters everywhere
    else (validation, files, grid axes, exact points, the ABM).
    """

    formal_fixed = FORMAL_FIXED

    @property
    def numeric_keys(self) -> tuple[str, ...]:
        return tuple(k for k in super().numeric_keys if k not in self.formal_fixed)


POT_SPACE = PoTSpace(
    "pot",
    [
        # -- rewards ------------------------------------------------------------------
        ParamSpec("reward", "R", "the client's reward per order", "Sec. 2.4, Table 1",
                  POSITIVE, 2.0, "derelay", group="rewards", lever=True),
        ParamSpec("rho", "ρ", "validators' share of R (the paper: 'the rest')", "Sec. 2.3",
                  SHARE, 0.2, "derelay", unit="share", group="rewards", lever=True),
        ParamSpec("tax", "r", "aggregators' tax rate on a sealed order", "Sec. 5.2",
                  SHARE, 0.02, "derelay", unit="share", group="rewards", lever=True),
        ParamSpec("funding", "-", "who pays the aggregators: the order's tax or new tokens",
                  "Sec. 5.2", kind="choice", choices=("tax", "inflation"), default="tax",
                  default_source="derelay", unit="-", group="rewards"),
        # -- participants ---------------------------------------------------------------
        ParamSpec("n_providers", "K", "staked providers drawn per order", "Sec. 3.3.2",
                  COUNT_INT_POS, 8, "derelay", unit="agents", group="participants",
                  kind="int"),
        ParamSpec("n_validators", "n_V", "validators drawn per order", "Sec. 2.4",
                  COUNT_INT_POS, 5, "derelay", unit="agents", group="participants",
                  kind="int"),
        ParamSpec("n_verifiers", "n_X", "verifiers drawn per order", "Sec. 3.3.3",
                  COUNT_INT, 5, "derelay", unit="agents", group="participants", kind="int"),
        ParamSpec("audit", "a", "a verifier's probability of auditing a validation",
                  "Sec. 3.4", PROB, 0.2, "derelay", unit="probability",
                  group="participants"),
        # -- stakes and penalties ------------------------------------------------------
        ParamSpec("provider_stake", "s_P", "a provider's stake (locked per order)",
                  "Sec. 2.5, 3.3.2", NONNEG, 1.0, "derelay", group="stakes"),
        ParamSpec("withhold_slash", "s_W", "slash of a provider that commits and never "
                  "reveals (burned)", "Sec. 3.3.2", NONNEG, 1.0, "derelay", group="stakes"),
        ParamSpec("v_stake", "vStake", "stake behind each validation (score)", "Table 1",
                  NONNEG, 0.5, "derelay", group="stakes"),
        ParamSpec("c_stake", "cStake", "stake behind each challenge (lost if false)",
                  "Table 1", NONNEG, 0.1, "derelay", group="stakes"),
        ParamSpec("gamma", "γ", "the challenger's share of a slash (the rest is burned)",
                  "Sec. 2.4", PROB, 0.5, "derelay", unit="share", group="stakes"),
        ParamSpec("misreport_gain", "g", "a bribe to a validator for misreporting a score",
                  "derelay", NONNEG, 0.5, "derelay", group="stakes"),
        ParamSpec("delta", "δ", "size of a score misreport (accuracy, 0..1)", "derelay",
                  Domain(lower=0.0, lower_strict=True, upper=1.0), 0.1, "derelay",
                  unit="accuracy", group="stakes"),
        ParamSpec("c_ver", "C_ver", "cost of verifying one validation (re-running "
                  "VRF_Model)", "Sec. 2.4", NONNEG, 0.01, "derelay", group="common"),
        # -- aggregators and the multisig ------------------------------------------------
        ParamSpec("n_aggregators", "n", "aggregator nodes (multisig seats)", "Sec. 5.2",
                  COUNT_INT_POS, 30, unit="agents", group="aggregators", kind="int"),
        ParamSpec("k_multisig", "k", "signatures a settlement needs", "Sec. 5.2",
                  COUNT_INT_POS, 18, unit="agents", group="aggregators", kind="int"),
        ParamSpec("agg_supply_share", "s_A", "share of the token supply staked by "
                  "aggregators", "Sec. 5.2", Domain(lower=0.0, lower_strict=True, upper=1.0),
                  0.2, unit="share", group="aggregators"),
        ParamSpec("agg_stake", "d", "each aggregator's stake", "Sec. 5.2", POSITIVE, 10.0,
                  "derelay", group="aggregators"),
        # -- Table 6 ---------------------------------------------------------------------
        ParamSpec("gas_propose", "G_p", "gas of proposeReward", "Table 6", NONNEG, 86875,
                  unit="gas", group="settlement", kind="int"),
        ParamSpec("gas_confirm", "G_c", "gas of confirmReward", "Table 6", NONNEG, 45371,
                  unit="gas", group="settlement", kind="int"),
        ParamSpec("gas_execute", "G_e", "gas of executeReward", "Table 6", NONNEG, 161888,
                  unit="gas", group="settlement", kind="int"),
        ParamSpec("confirmations", "n_c", "confirmReward calls per settlement", "Sec. 4.2",
                  COUNT_INT, 30, unit="calls", group="settlement", kind="int"),
        ParamSpec("gas_price_gwei", "p_g", "BSC gas price", "Table 6 (20 June 2023)",
                  NONNEG, 4.562, unit="Gwei", group="settlement"),
        ParamSpec("token_usd", "p_BNB", "token (BNB) price", "Table 6 (20 June 2023)",
                  NONNEG, 246.2, unit="USD", group="settlement"),
        ParamSpec("gas_price_coin", "p_gc", "coins per unit of gas (0: gas costs off)",
                  "derelay (1 coin = 1 BNB)", NONNEG, 4.562e-9, "derelay", unit="coin/gas",
                  group="settlement"),
    ],
    constraints=[
        CrossConstraint("rho", "rho + tax < 1 (the winner's share is positive)",
                        lambda p: p.rho + p.tax < 1),
        CrossConstraint("k_multisig", "k_multisig <= n_aggregators",
                        lambda p: p.k_multisig <= p.n_aggregators),
        CrossConstraint("withhold_slash", "withhold_slash <= provider_stake (a slash takes "
                        "at most the stake)", lambda p: p.withhold_slash <= p.provider_stake),
    ],
    inherits=COMMON_SPACE,
)

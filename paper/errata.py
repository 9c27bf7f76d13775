"""The paper's errata that need no measurement (E9 is measured in the fig34 section,
E12's numbers are computed from the Table III parameters)."""

from __future__ import annotations

from .core import Erratum, Q

ERRATA: list[Erratum] = [
    Erratum(
        id="E1",
        where="Sec. III-C1 (Algorithm 1) vs Sec. IV-A(3)",
        issue="Two matching rules: Algorithm 1 lets owners in ranking order take the highest deposits (second-price deposits as printed); Sec. IV-A(3) has owners rank trainers by last-round performance and trainers rank owners by deposit; the authors' code ranks owners by model performance and trainers by bid, first price.",
        choice="All three are selectable (SimConfig.matching); presets paper_text (algorithm1) and authors_code (authors).",
        command="derelay sweep experiments/paper_fig34.toml  (axis preset)",
    ),
    Erratum(
        id="E2",
        where="Appendix (eq. 23 ff.) vs eqs. (7), (8), (14)",
        issue="The appendix allows 0 <= β <= 1 (and 0 <= s <= 1) but T1 divides by 1 - β and T2/T8 by β: β = 1 makes every citation value R/(1-β) undefined, β = 0 the printed T2/T8.",
        choice="0 < β < 1 and 0 < s < 1 (Table I's open interval); conditions are evaluated division-free.",
        command="derelay prove --json   (domain_problems)",
    ),
    Erratum(
        id="E3",
        where="Sec. IV-A(6) vs eq. (23)",
        issue="The simulation pays one © to the owner and every predecessor up to the genesis owner, undiscounted; the utility model values future citations with β^k.  Coins, inequality and eq. (15)'s quadratic growth depend on which is used.",
        choice="SimConfig.citation = every_ancestor (paper text, default) | discounted.",
        command="derelay sweep experiments/smoke_sweep.toml  (axis citation)",
    ),
    Erratum(
        id="E4",
        where="eqs. (82), (85), (99)",
        issue="Copy-paste slips in the proofs: (85) argues the MO's IC from the 'IR for EBM' (it is T1, the IR for MO); (82) concludes 'to hold IR for DBM' for the EBM's T4; (99) uses the 'IR for TBM' for the SBM (it is T6).",
        choice="Proved with the right conditions.",
        command="derelay prove",
    ),
    Erratum(
        id="E5",
        where="eq. (83) vs eqs. (11), (104)",
        issue="T5 is printed with '>' in (83) and '>=' in (11) and (104).",
        choice="'>=' (IR is weak, U_N >= 0).",
        command="derelay check --json   (paper_forms.T5)",
    ),
    Erratum(
        id="E6",
        where="eqs. (85), (94), (96)-(99)",
        issue="Strict IC (U_N > U_dev) fails at ties the domain allows: b^MO = 0 or Q_Selected = 0 for the MO, C_Mine = 0 for the miners; only weak IC holds everywhere.",
        choice="Both strict and weak IC are reported; the repair conditions are stated.",
        command="derelay prove",
    ),
    Erratum(
        id="E7",
        where="Table II vs eq. (31)",
        issue="The training cost is printed P_Comp·D·τ·M in Table II and with |M| in eq. (31).",
        choice="eq. (31): P_Comp·D·τ·|M| (any other reading rescales P_Comp).",
        command="derelay check",
    ),
    Erratum(
        id="E8",
        where="eqs. (16)-(21), Sec. IV-A(5)",
        issue="Eq. (21) ignores the flooring of s × (successful trainers): with Q_SelectionLimit = 4, an owner's trainers yield at most floor(4s) new owners, so for s < 0.5 the relay started by one genesis owner never grows and the fixed point Q_MO&T/(1+s) is never reached.",
        choice="Measured, not patched.",
        command="derelay sweep experiments/paper_eq21.toml",
    ),
    Erratum(
        id="E13",
        where="Sec. IV-A vs the authors' published simulation",
        issue="The code behind Figs. 3-4 departs from the text: the genesis model also pays its owner (2 © per selection), a trainer whose training fails gets no model (the text has it receive the model first), the EBM keeps copies of all the round's models, owners are ranked by model performance and bids are first price, and an empty owner list halts the relay.",
        choice="Preset authors_code reproduces the code, paper_text the text; every figure is drawn for both.",
        command="derelay run --preset authors_code ; derelay sweep experiments/paper_fig34.toml",
    ),
    Erratum(
        id="E14",
        where="Sec. IV-A(2) bidding rule vs T7",
        issue="The bid min(coins, V_latest - V_now + 1) is tiny for a trainer with few coins, so T7 (b^T > (V_RecM - V_Now) ©) fails for exactly the trainers the deposit is meant to discipline, although it holds at the parameter point the analysis uses.",
        choice="Measured in the ABM (docs/abm.md, 'Findings beyond the paper').",
        command="derelay run --preset paper_text --utilities",
    ),
    Erratum(
        id="E10",
        where="Algorithm 1, T7",
        issue="The deposit auction is not truthful: bid shading (and overbidding for a slot) pays, and a lazy trainer whose noisy model is selected with high enough probability gains despite T7.",
        choice="Reported as deviations with exact witnesses.",
        command="derelay deviations --scope auction ; derelay deviations --scope lazy",
    ),
    Erratum(
        id="E11",
        where="Table I (overlined Q^MO_Selected) vs Q_Selected",
        issue="The overlined Q^MO_Selected in eq. (23) is an average number of selected trainers, not Q_Selected (deposits signed); reading them as equal changes T1.",
        choice="Expected selected trainers, s·Pr_Training·Q_Selected = 1.8 by default.",
        command="derelay params",
    ),
]


def _e12() -> Erratum:
    from derelay.params import Params

    p = Params()
    q = p.n_participants - p.n_miners
    at = "closed form at the Table III parameters"
    return Erratum(
        id="E12",
        where="eqs. (17)-(21)",
        issue="Eq. (17) sets Q_MO = s · Q_LastT, but only successfully trained models can be "
        "selected (Pr_Training = {pr}, Table III): owners are s · Pr · Q_LastT and the fixed "
        "point is Q_MO&T / (1 + s · Pr) = {fp_pr} ({fp_floor} with the flooring, docs/abm.md), "
        "not {fp_paper}, for s = {share}; the simulation settles at the former.",
        choice="Both curves are drawn; the simulated relay is measured against both.",
        command="derelay sweep experiments/paper_eq21.toml",
        measured={
            "pr": Q(p.p_train_success, "", "Table III", ".3g"),
            "share": Q(p.s, "", "Table III (the selection share s)", ".3g"),
            "fp_pr": Q(q / (1 + p.s * p.p_train_success), "trainers per round", at, ".3g"),
            "fp_floor": Q(
                (q + 0.25) / (1 + p.s * p.p_train_success),
                "trainers per round",
                at + ", with E[floor] (tests/test_paper_claims.py)",
                ".4g",
            ),  # fmt: skip
            "fp_paper": Q(q / (1 + p.s), "trainers per round", "eq. (21)", ".3g"),
        },
    )


ERRATA.append(_e12())

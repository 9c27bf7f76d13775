"""A minimal derelay mechanism: paid work, audited (docs/plugins.md walks through it).

A client pays each *worker* (role ``W``) ``reward`` for a task and each *auditor* (role
``A``) ``fee`` for checking it.  A worker stakes ``deposit``; an honest worker spends
``c_train`` on the task.  An honest auditor spends ``c_eval`` and catches a lazy worker
with probability ``p_detect``: the lazy worker loses its deposit (burned) and is not paid.

Utilities (derived; auditors honest for the worker's)::

    U_W(N)    = reward - c_train
    U_W(Lazy) = (1 - p_detect) * reward - p_detect * deposit
    U_A(N)    = fee - c_eval
    U_A(Skip) = fee

Condition ``W_IC`` (exact): p_detect * (reward + deposit) > c_train.  No condition protects
the auditor: ``Skip`` always saves ``c_eval`` - ``derelay check`` says so, a finding of
this toy design, not something to tune away.
"""

from __future__ import annotations

from derelay.mechanism import Claim, Condition, Funding, Mechanism, Role, Strategy
from derelay.params import Domain
from derelay.space import COMMON_SPACE, ParamSpace, ParamSpec

# fmt: off
SPACE = ParamSpace("toy", [
    ParamSpec("reward", "R", "client's payment per task", "toy", Domain(0.0, True), 1.0,
              unit="coin", group="rewards", lever=True),
    ParamSpec("fee", "F", "client's payment per audit", "toy", Domain(0.0), 0.05,
              unit="coin", group="rewards", lever=True),
    ParamSpec("deposit", "D", "worker's stake per task", "toy", Domain(0.0), 1.0,
              unit="coin", group="deposits"),
    ParamSpec("p_detect", "q", "an audit catches a lazy worker", "toy",
              Domain(0.0, False, 1.0), 0.5, unit="probability"),
], inherits=COMMON_SPACE)


def u_w_n(p):
    return p.reward - p.c_train


def u_w_lazy(p):
    return (1 - p.p_detect) * p.reward - p.p_detect * p.deposit


def u_a_n(p):
    return p.fee - p.c_eval


def u_a_skip(p):
    return p.fee


W = Role("W", "Worker", "does the client's task", (
    Strategy("W", "N", "Normal", "does the task", "derived", u_w_n, derived=True,
             behaviour={"works": True}),
    Strategy("W", "Lazy", "Lazy worker", "skips the task", "derived", u_w_lazy,
             family="lazy", derived=True, behaviour={"works": False}),
))
A = Role("A", "Auditor", "checks a worker's task", (
    Strategy("A", "N", "Normal", "audits the task", "derived", u_a_n, derived=True,
             behaviour={"audits": True}),
    Strategy("A", "Skip", "Skipping auditor", "accepts without auditing", "derived",
             u_a_skip, family="skip_audit", derived=True, behaviour={"audits": False}),
))


class Toy(Mechanism):
    name = "toy"
    title = "Toy: paid work, audited"
    paper = "derelay examples/derelay_toy (docs/plugins.md)"
    space = SPACE
    roles = (W, A)
    conditions = (
        Condition("W_IC", "q (R + D) > C_train", "", "W", "IC", "Lazy", "exact", True,
                  "laziness does not pay",
                  holds=lambda p: p.p_detect * (p.reward + p.deposit) > p.c_train,
                  paper_form=lambda p: (p.p_detect * (p.reward + p.deposit), ">", p.c_train)),
    )
    claims = (
        Claim("toy.audit_deters_laziness", "docs/plugins.md",
              "if q (R + D) > C_train, a worker prefers working to laziness",
              "U_W(N) - U_W(Lazy) over the whole space",
              hypotheses=lambda p, v: [p.p_detect * (p.reward + p.deposit) > p.c_train],
              conclusion=lambda p, v: u_w_n(p) > u_w_lazy(p)),
    )
    funding = Funding(minted=lambda p: 0,
                      external=lambda p: (p.n_participants // 2) * (p.reward + p.fee),
                      description="the client pays every pair (all honest)")
    protocol = "derelay_toy.protocol:ToyProtocol"
    learning_mode = "contest"
    finality = "bft"
    # the contract suite: a small run; with honest auditors the realised mean utilities
    # are the closed form (exactly for N, up to Monte Carlo error for Lazy)
    contract = {"params": {"n_participants": 20}, "options": {}, "rounds": 5, "prove": True,
                "closed_form": [{"role": r, "strategy": s, "rounds": 60, "tolerance": t,
                                 "run": {"types": {"lazy": 0.5}, "initial_coins": 2.0}}
                                for r, s, t in (("W", "N", 1e-12), ("A", "N", 1e-12),
                                                ("W", "Lazy", "4se"))]}
# fmt: on


TOY = Toy()

"""DeepChain's cryptographic bookkeeping: Table 2, the threshold rules, the packing scheme
and the CNN's parameter count (Sec. 4.2.4, Sec. 6).  Exact integer arithmetic only.

Threshold rules
---------------
* Table 2 lists, for n = 4..8, the maximum number of adversaries a and the thresholds
  ``t in {a + 1, ..., n}``.  The rule that reproduces every row is ``a = floor((n - 1) / 3)``
  (fewer than n/3 adversaries, Sec. 4.2.5) and ``t_min = a + 1`` (:func:`table_threshold`).
* The text says ``t in {N/3 + 1, ..., N}``.  N/3 + 1 is an integer only when 3 | N; read as
  the least integer of that set above N/3, ``t_min = floor(N / 3) + 1``
  (:func:`text_threshold`; ``text_ceil_threshold`` is ``ceil(N/3 + 1)``, the literal
  "at least N/3 + 1").

Packing (Sec. 4.2.4, "(3) Parameters of Threshold Paillier")
-------------------------------------------------------------
l values ``w^1..w^l``, each an integer ``0 <= w <= d``, are packed as ``Σ α_i w^i`` with a
super-increasing ``α`` (α_1 = 1) satisfying (1) ``Σ_{i<l} α_i N d < α_l`` and (2)
``Σ_{i<=l} α_i N d < n_model``, so that the sum of N parties' packed values decodes.  The
least such sequence is ``α_i = (N d + 1)^(i-1)`` (each slot holds a sum of at most N d),
for which (2) reads ``(N d + 1)^l - 1 < n_model``.  :func:`max_packed` returns the largest
l for a modulus of ``bits`` bits (``n_model >= 2^(bits-1)``; the guaranteed capacity).
"""

from __future__ import annotations

import math

#: Table 2 as printed: n -> (maximum adversaries, thresholds).
TABLE_2: dict[int, tuple[int, tuple[int, ...]]] = {
    4: (1, (2, 3, 4)),
    5: (1, (2, 3, 4, 5)),
    6: (1, (2, 3, 4, 5, 6)),
    7: (2, (3, 4, 5, 6, 7)),
    8: (2, (3, 4, 5, 6, 7, 8)),
}

#: DeepChain's CNN (Sec. 6): parameter shapes as printed.
CNN_SHAPES: dict[str, tuple[int, ...]] = {
    "w1": (10, 1, 3, 3),
    "b1": (10, 1),
    "w2": (1960, 128),
    "b2": (1, 128),
    "w3": (128, 10),
    "b3": (1, 10),
}


def max_adversaries(n: int) -> int:
    """Fewer than n/3 adversaries: a = floor((n - 1) / 3)."""
    return (int(n) - 1) // 3


def table_threshold(n: int) -> int:
    """Table 2's minimal threshold: a + 1."""
    return max_adversaries(n) + 1


def text_threshold(n: int) -> int:
    """The text's t in {N/3 + 1, ..., N}, read as t_min = floor(N / 3) + 1."""
    return int(n) // 3 + 1


def text_ceil_threshold(n: int) -> int:
    """The literal 'at least N/3 + 1': t_min = ceil(N / 3 + 1)."""
    return -(-(int(n) + 3) // 3)


def min_threshold(n: int, rule: str) -> int:
    if rule == "table":
        return table_threshold(n)
    if rule == "text":
        return text_threshold(n)
    raise ValueError(f"threshold rule must be 'table' or 'text', got {rule!r}")


def table_2_reproduced(ns=range(4, 9)) -> list[dict]:
    """Table 2 from the rule, next to the printed rows."""
    rows = []
    for n in ns:
        a = max_adversaries(n)
        ts = tuple(range(a + 1, n + 1))
        printed = TABLE_2.get(n)
        rows.append(
            {
                "n": n,
                "max_adversaries": a,
                "thresholds": list(ts),
                "printed_max_adversaries": printed[0] if printed else None,
                "printed_thresholds": list(printed[1]) if printed else None,
                "matches": printed == (a, ts) if printed else None,
            }
        )
    return rows


def threshold_comparison(ns=range(4, 11)) -> list[dict]:
    """Minimal threshold by Table 2's rule vs the text's (floor and ceiling readings), with
    what each means for security: privacy needs t > a (a coalition of a cannot decrypt),
    liveness needs t <= n - a (the honest parties alone can decrypt)."""
    rows = []
    for n in ns:
        a = max_adversaries(n)
        tab, txt, ceil_ = table_threshold(n), text_threshold(n), text_ceil_threshold(n)
        rows.append(
            {
                "n": n,
                "max_adversaries": a,
                "table_t_min": tab,
                "text_t_min": txt,
                "text_ceil_t_min": ceil_,
                "agree": tab == txt,
                "agree_ceil": tab == ceil_,
                "table_private": tab > a,
                "text_private": txt > a,
                "live_up_to_t": n - a,
            }
        )
    return rows


def cnn_parameter_count(shapes: dict[str, tuple[int, ...]] | None = None) -> int:
    return sum(math.prod(s) for s in (shapes or CNN_SHAPES).values())


def max_packed(n_parties: int, d: int, bits: int = 1024) -> int:
    """Largest l with (N d + 1)^l - 1 < 2^(bits-1) (see the module docstring)."""
    base = int(n_parties) * int(d) + 1
    if base < 2:
        raise ValueError("need N d >= 1")
    bound = 1 << (int(bits) - 1)
    lo = 0
    val = 1
    while val * base - 1 < bound:
        val *= base
        lo += 1
    return lo


def super_increasing(n_parties: int, d: int, length: int) -> list[int]:
    base = int(n_parties) * int(d) + 1
    return [base**i for i in range(length)]


def packing_conditions_hold(alpha: list[int], n_parties: int, d: int, modulus: int) -> bool:
    """The paper's conditions (1) and (2) on a sequence α."""
    nd = int(n_parties) * int(d)
    c1 = all(sum(alpha[:i]) * nd < alpha[i] for i in range(1, len(alpha)))
    c2 = sum(alpha) * nd < modulus
    return c1 and c2 and alpha[0] == 1


def pack(values: list[int], alpha: list[int]) -> int:
    return sum(a * v for a, v in zip(alpha, values, strict=True))


def unpack(x: int, alpha: list[int]) -> list[int]:
    """Decode a packed (possibly summed) value from the most significant slot down."""
    out = [0] * len(alpha)
    for i in range(len(alpha) - 1, -1, -1):
        out[i], x = divmod(x, alpha[i])
    return out


def packing_report(n_parties: int, d: int, bits: int = 1024, n_params: int | None = None) -> dict:
    n_params = cnn_parameter_count() if n_params is None else int(n_params)
    per = max_packed(n_parties, d, bits)
    return {
        "n_parties": int(n_parties),
        "value_bound_d": int(d),
        "bits": int(bits),
        "bits_per_value": math.log2(int(n_parties) * int(d) + 1),
        "values_per_ciphertext": per,
        "cnn_parameters": n_params,
        "ciphertexts_per_party": -(-n_params // per),
        "one_ciphertext_suffices": per >= n_params,
    }

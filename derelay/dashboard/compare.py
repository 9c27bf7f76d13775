"""The compare tab: reading a ``derelay compare`` results directory (issue 16).

Expected schema of ``<dir>/compare.parquet`` (one row per mechanism, deviation family,
deviant share and seed):

========================  ========  ================================================
column                    type      meaning
========================  ========  ================================================
``mechanism``             string    registry name (``derelayl``, ``pot``, ...)
``family``                string    deviation family (``lazy``, ``poison``, ...)
``deviant_share``         float     share of deviant agents (0 for the honest run)
``seed``                  integer   replication seed
any other numeric column  float     a metric (e.g. ``deviation_gain``,
                                    ``final_accuracy``, ``minted_per_round``)
========================  ========  ================================================

The tab averages every metric over seeds (with the number of seeds) and draws a heatmap of
mechanisms x families at one deviant share, coloured by the chosen metric and diverging
around zero.  A (mechanism, family) with no rows shows a grey "–" cell, never a zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KEYS = ("mechanism", "family", "deviant_share", "seed")
FILE = "compare.parquet"
PREFERRED = ("deviation_gain", "closed_form_margin", "final_accuracy")


class CompareError(ValueError):
    """The directory or file is not a readable compare result (one user-facing line)."""


@dataclass
class CompareData:
    path: Path
    frame: object  # pandas.DataFrame, the file as read
    metrics: list[str]

    def default_metric(self) -> str:
        for m in PREFERRED:
            if m in self.metrics:
                return m
        return self.metrics[0]

    def shares(self) -> list[float]:
        return sorted(float(x) for x in self.frame["deviant_share"].unique())

    def table(self, metric: str):
        """Mean of ``metric`` over seeds per (mechanism, family, deviant_share), with n."""
        df = self.frame
        g = df.groupby(["mechanism", "family", "deviant_share"], sort=True, observed=True)
        out = g[metric].agg(["mean", "std", "count"]).reset_index()
        return out.rename(columns={"mean": metric, "std": f"{metric}_sd", "count": "seeds"})

    def heatmap(self, metric: str, share: float):
        """(mechanisms, families, matrix of means with NaN where no rows) at ``share``."""
        import numpy as np

        t = self.table(metric)
        t = t[np.isclose(t["deviant_share"].to_numpy(dtype=float), share)]
        mechs = sorted(self.frame["mechanism"].unique().tolist())
        fams = sorted(self.frame["family"].unique().tolist())
        z = np.full((len(mechs), len(fams)), np.nan)
        for row in t.itertuples(index=False):
            z[mechs.index(row.mechanism), fams.index(row.family)] = getattr(row, metric)
        return mechs, fams, z


def load(directory: str | Path) -> CompareData:
    """Read ``directory/compare.parquet`` (or the file itself) and check its schema."""
    import pandas as pd

    path = Path(directory)
    if path.is_dir():
        path = path / FILE
    if not path.is_file():
        raise CompareError(f"no {FILE} at {path} (run `derelay compare --out DIR` first)")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise CompareError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    missing = [k for k in KEYS if k not in df.columns]
    if missing:
        raise CompareError(
            f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(KEYS)} "
            "plus numeric metric columns"
        )
    metrics = [
        c for c in df.columns if c not in KEYS and pd.api.types.is_numeric_dtype(df[c].dtype)
    ]
    metrics = [c for c in metrics if not pd.api.types.is_bool_dtype(df[c].dtype)]
    if not metrics:
        raise CompareError(f"{path}: no numeric metric column besides {', '.join(KEYS)}")
    df = df.astype({"mechanism": str, "family": str})
    return CompareData(path, df, metrics)

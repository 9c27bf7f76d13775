"""``derelay plot``: figures of any sweep or run directory, metrics and facets by name.

Time series: the mean of each ``--metric`` over runs (replications, seeds) per round with
a 95% Student-t confidence band of the mean; ``--hue COL`` draws one line per value of a
column (e.g. a swept parameter), ``--facet COL`` one row of panels per value.
Heatmaps: ``--heatmap X,Y`` draws the mean over runs of the metric's final value
(``--statistic mean``: its mean over rounds) on the grid of two columns.  The figure is
written atomically to ``--out`` (PNG, PDF or SVG by suffix).  See :mod:`analysis.explore`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import fail, out_console, print_json


def plot(
    directory: Path = typer.Argument(..., help="A sweep output (manifest.json) or a run dir."),
    metric: list[str] = typer.Option(
        ..., "--metric", "-y", help="Column to plot (repeatable: one panel each)."
    ),
    hue: str = typer.Option(None, "--hue", help="Column: one line per value (time series)."),
    facet: str = typer.Option(None, "--facet", help="Column: one row of panels per value."),
    heatmap: str = typer.Option(
        None, "--heatmap", help="X,Y: a heatmap of the first metric over two columns."
    ),
    statistic: str = typer.Option(
        "final", "--statistic", help="Heatmap value per run: final or mean (over rounds)."
    ),
    out: Path = typer.Option(
        Path("plot.png"), "--out", "-o", help="Figure file (.png, .pdf or .svg)."
    ),
    dpi: int = typer.Option(150, "--dpi", help="Resolution of a PNG (50-600)."),
    json_out: bool = typer.Option(False, "--json", help="Print what was drawn as JSON."),
) -> None:
    """Plot time series with 95% confidence bands, or a heatmap over two axes, from a sweep
    or run directory.  Exit 0 when the figure was written, 2 for bad input."""
    from derelay.io import OutputError, check_output_path, output_file

    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        fail(f"option '--out' = '{out}': the file name must end in .png, .pdf or .svg")
    if not 50 <= dpi <= 600:
        fail(f"option '--dpi' = {dpi} is out of range: allowed 50 <= --dpi <= 600")
    if statistic not in ("final", "mean"):
        fail(f"option '--statistic' = {statistic!r}: allowed final or mean")
    try:
        check_output_path(out, "--out", "file")
    except OutputError as exc:
        fail(str(exc))
    from analysis.explore import (
        ExploreError,
        check_names,
        heatmap_figure,
        load_dir,
        save,
        timeseries_figure,
    )

    try:
        df, layout = load_dir(directory)
        check_names(df, metric, "metric")
        check_names(df, [c for c in (hue, facet) if c], "column")
        if heatmap is not None:
            axes = [a.strip() for a in heatmap.split(",")]
            if len(axes) != 2 or not all(axes):
                fail(f"option '--heatmap' = {heatmap!r}: expected two columns X,Y, e.g. beta,s")
            check_names(df, axes, "column")
            fig = heatmap_figure(df, axes[0], axes[1], metric[0], statistic)
            kind = "heatmap"
        else:
            fig = timeseries_figure(df, metric, hue=hue, facet=facet)
            kind = "timeseries"
    except ExploreError as exc:
        fail(str(exc))
    try:
        with output_file(out, "--out") as tmp:
            save(fig, tmp.with_suffix(out.suffix), dpi=dpi)
            tmp.with_suffix(out.suffix).replace(tmp)
    except (OutputError, OSError) as exc:
        fail(f"option '--out' = '{out}': cannot write ({exc})")
    info = {
        "out": str(out),
        "kind": kind,
        "layout": layout,
        "runs": int(df["run_id"].nunique()),
        "metrics": list(metric),
        "band": "95% Student-t confidence interval of the mean over runs",
    }
    if json_out:
        print_json(info)
        return
    from rich.markup import escape

    out_console.print(
        f"wrote {escape(str(out))} ({kind} of {escape(', '.join(metric))} over "
        f"{info['runs']} run(s) of a {layout} directory)"
    )


def register(app: typer.Typer) -> None:
    app.command("plot", context_settings={"show_default": True})(plot)

"""``derelay design``: where do the wanted properties hold, as a function of free parameters?"""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import fail, out_console, print_json


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _ranges(specs: list[str] | None, free: list[str]) -> dict[str, tuple[float, float]]:
    import math

    out = {}
    for s in specs or []:
        key, _, rng = s.partition("=")
        lo, _, hi = rng.partition(":")
        try:
            a, b = float(lo), float(hi)
        except ValueError:
            fail(f"option '--range' = {s!r} is malformed: use KEY=LOW:HIGH, e.g. b_t=0:5")
        if key not in free:
            fail(f"option '--range' = {s!r} names {key!r}, which is not a --free parameter")
        if not (math.isfinite(a) and math.isfinite(b) and a < b):
            fail(f"option '--range' = {s!r} is out of range: allowed finite LOW < HIGH")
        out[key] = (a, b)
    return out


def design_cmd(
    params: Path = typer.Option(
        ..., "--params", "-p", help="Parameter file (JSON or TOML): the fixed point."
    ),
    free: list[str] = typer.Option(
        ..., "--free", help="Free parameter(s), comma-separated or repeated: the unknowns."
    ),
    mechanism: str = typer.Option("derelayl", "--mechanism", "-m", help="Mechanism name."),
    want: str = typer.Option(
        "ir,ic",
        "--want",
        help="Properties wanted, comma-separated: ir, ic (on the utilities), conditions.",
    ),
    role: list[str] = typer.Option(
        None, "--role", help="Only these roles' properties (repeatable). Default: every role."
    ),
    minimize: str = typer.Option(
        None,
        "--minimize",
        help="Expression to minimise over the region: parameter names, issuance, numbers, + - * /.",
    ),
    out: Path = typer.Option(
        None, "--out", help="With two free parameters: write a grid map (Parquet) of the region."
    ),
    points: int = typer.Option(
        41, "--points", min=2, max=1001, help="Grid points per axis for --out."
    ),
    range_: list[str] = typer.Option(
        None, "--range", help="Grid range of a free parameter for --out: KEY=LOW:HIGH (repeatable)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Solve for the free parameters: the exact region where IR/IC/conditions hold, the
    conflict that makes it empty, and the optimum of --minimize inside it.

    Every other parameter stays at the file's value. One free parameter: a union of
    intervals with exact ends. Two or more: z3 decides emptiness, with a witness point.
    Exit status 0 whenever it answered (region, empty or unknown), 2 for bad input.
    """
    from derelay.formal.design import DesignError, design, grid_map
    from derelay.mechanism import UnknownMechanism, get_mechanism
    from derelay.params import ParamsError

    try:
        mech = get_mechanism(mechanism)
    except UnknownMechanism as exc:
        fail(f"option '--mechanism' = {mechanism!r}: {exc}")
    try:
        point = mech.space.load(params)
    except ParamsError as exc:
        fail(str(exc))
    keys = _split(free)
    wants = _split([want])
    try:
        res = design(mech, point, keys, wants, role or None, minimize)
    except DesignError as exc:
        fail(str(exc))
    if out is not None:
        import numpy as np

        if len(keys) != 2:
            fail(f"option '--out' needs exactly two --free parameters, got {len(keys)}")
        from derelay.io import OutputError, check_output_path

        try:
            check_output_path(out, "--out", "file")
        except OutputError as exc:
            fail(str(exc))
        rng = _ranges(range_, keys)
        axes = {}
        for k in keys:
            lo, hi = rng.get(k) or _default_range(mech.space.info[k], point[k])
            axes[k] = np.linspace(lo, hi, points)
        try:
            df = grid_map(mech, point, axes, wants, role or None)
        except DesignError as exc:
            fail(str(exc))
        _write_map(df, out, mech.name, point, keys)
        res["map"] = {
            "path": str(out),
            "points": int(len(df)),
            "share_all": float(df["all"].mean()),
        }
    if json_out:
        print_json(res)
        return
    _print(res)


def _default_range(spec, value) -> tuple[float, float]:
    """The domain where it is bounded, else [0, 2 x max(value, 1)] clipped to the domain."""
    d = spec.domain
    lo = d.lower if d.lower is not None else -2 * max(abs(value), 1.0)
    hi = d.upper if d.upper is not None else 2 * max(abs(value), 1.0)
    eps = (hi - lo) * 1e-3
    return (lo + eps if d.lower_strict else lo, hi - eps if d.upper_strict else hi)


def _write_map(df, out: Path, mechanism: str, point, keys) -> None:
    import json
    import os
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = {
        b"derelay.mechanism": mechanism.encode(),
        b"derelay.base": json.dumps({k: v for k, v in point.to_dict().items()}).encode(),
        b"derelay.free": json.dumps(keys).encode(),
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _print(res: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    free = ", ".join(res["free"])
    status = res["status"]
    head = {
        "region": "[green]region found[/]",
        "empty": "[bold red]no value works[/]",
        "unknown": "[yellow]unknown[/]",
    }[status]
    out_console.print(f"[bold]{res['mechanism']}[/]: free {escape(free)}; {head}", soft_wrap=True)
    t = Table(title="What each property needs")
    t.add_column("property")
    t.add_column("needs")
    for b in res.get("bounds") or []:
        t.add_row(escape(b["property"]), escape(b["needs"]))
    out_console.print(t)
    if status == "region":
        out_console.print(f"Region: {escape(res['region']['text'])}", soft_wrap=True)
        w = res["region"].get("witness")
        if w:
            pts = ", ".join(f"{k} = {v['exact']}" for k, v in w.items())
            out_console.print(f"A point inside: {escape(pts)}", soft_wrap=True)
    elif status == "empty":
        out_console.print(f"Conflict: {escape(res['conflict']['text'])}", soft_wrap=True)
    else:
        out_console.print(
            f"Unknown: {escape(res.get('reason', ''))} (never a guess)", soft_wrap=True
        )
    opt = res.get("optimum")
    if opt:
        if opt.get("status") == "optimum":
            how = "attained" if opt.get("attained") else "infimum, not attained"
            at = opt.get("at")
            at_txt = ""
            if isinstance(at, dict) and "exact" in at:
                at_txt = f" at {res['free'][0]} = {at['exact']}"
            elif isinstance(at, dict):
                at_txt = " at " + ", ".join(f"{k} = {v}" for k, v in at.items())
            out_console.print(
                f"Minimum: {opt['value']['exact']} ({opt['value']['float']:.6g}; {how}){escape(at_txt)}"
            )
        else:
            out_console.print(
                f"Minimum: {escape(opt.get('status', ''))} {escape(opt.get('reason', ''))}",
                soft_wrap=True,
            )
    if res.get("map"):
        m = res["map"]
        out_console.print(
            f"Grid map: {m['points']} points, {100 * m['share_all']:.1f}% in the region -> {escape(m['path'])}"
        )


def register(app: typer.Typer) -> None:
    app.command("design")(design_cmd)

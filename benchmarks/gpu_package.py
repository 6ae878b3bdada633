"""Pack a GPU run into a results folder that comes back whole from a lent machine.

At most PACKAGE_LIMITS["files"] files, each under PACKAGE_LIMITS["bytes_per_file"]: the summary
(gpu.md, gpu.json), the benchmark (bench.md, bench.json), every parity report in one parity.md,
every plot embedded in one plots.html, and the work folder (children's logs, configs, weights;
not its .npz arrays) as work.tar.gz. A file over the limit is left out and the summary says so; each file is written whole
(temp file, then rename).
"""

from __future__ import annotations

import base64
import html
import shutil
import tarfile
from pathlib import Path

from mnistx import runs

PACKAGE_LIMITS = {"files": 8, "bytes_per_file": 16 * 2**20}


def plots_html(pngs: list[Path], root: Path) -> str:
    """One self-contained page with every PNG embedded (base64), titled by its path under root."""
    body = "".join(f"<h2>{html.escape(str(p.relative_to(root)))}</h2><img alt='{html.escape(p.stem)}' "
                   f"src='data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}'>" for p in pngs)
    return (f"<!doctype html><meta charset='utf-8'><title>mnistx GPU run: plots</title>"
            f"<style>img{{max-width:100%}}</style><h1>Plots ({len(pngs)})</h1>{body}")


def _tar(work: Path, dest: Path) -> None:
    """Logs, configs, JSON and weights; not the .npz arrays (inputs re-derived from MNIST, per-backend
    outputs: ~220 MB on a 2-backend CPU run, re-made by running again)."""
    with runs.atomic_path(dest) as tmp, tarfile.open(tmp, "w:gz") as tar:
        tar.add(work, arcname="work", filter=lambda info: None if info.name.endswith(".npz") else info)


def package(out: Path, work: Path, result: dict, md: str, bench: dict | None, parity: dict, progress=print) -> dict:
    """Write the folder; returns name -> size in bytes (what came out), and records what was left out."""
    runs.fresh_dir(out)  # empty, or an earlier results folder (gpu_run.main checks): nothing stale passes for new
    limit, left_out = PACKAGE_LIMITS["bytes_per_file"], {}
    if bench:
        runs.write_text(out / "bench.md", Path(bench["files"]["markdown"]).read_text())
        runs.write_json(out / "bench.json", runs.read_json(Path(bench["files"]["json"])))
    if parity:
        runs.write_text(out / "parity.md", "\n\n".join(f"<!-- {name} -->\n" + Path(p["files"]["markdown"]).read_text()
                                                     for name, p in parity.items()))
    pngs = sorted(work.rglob("*.png"))
    if pngs:
        runs.write_text(out / "plots.html", plots_html(pngs, work))
    _tar(work, out / "work.tar.gz")
    for f in sorted(out.iterdir()):
        if f.is_file() and f.stat().st_size >= limit:
            left_out[f.name] = f"{f.stat().st_size / 2**20:.1f} MiB, over the {limit / 2**20:.0f} MiB limit"
            f.unlink()
    result["left_out"] = left_out
    names = {f.name for f in out.iterdir() if f.is_file()} | {"gpu.md", "gpu.json"}
    if len(names) > PACKAGE_LIMITS["files"]:  # never expected: the layout above has 7 files at most
        raise RuntimeError(f"{out} would hold {len(names)} files, over the limit of {PACKAGE_LIMITS['files']}")
    extra = "".join(f"\n- left out of the results folder: {n} ({why}); it stayed in {work}" for n, why in left_out.items())
    runs.write_text(out / "gpu.md", md + extra + ("\n" if extra else ""))
    sizes = {f.name: f.stat().st_size for f in out.iterdir() if f.is_file() and f.name != "gpu.json"}
    runs.write_json(out / "gpu.json", {**result, "files": sizes})
    sizes["gpu.json"] = (out / "gpu.json").stat().st_size
    if "work.tar.gz" not in left_out:
        shutil.rmtree(work, ignore_errors=True)  # its logs and small files are in the tarball
    progress(f"gpu_run: {out}: {len(sizes)} files, largest {max(sizes.values()) / 2**20:.2f} MiB"
             + (f"; left out: {', '.join(left_out)}" if left_out else ""))
    return sizes

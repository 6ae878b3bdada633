"""What the compare report shows per backend, shared by report.md and report.html: the figure rows,
the side-by-side table's rows, each column's figures and why one is missing."""

from __future__ import annotations

FIGURE_ROWS = [  # (figure name, heading) shown with the backends side by side
    ("confidence", "The same test image's confidence bars"),
    ("curves", "Training curves"),
    ("weights", "First-layer weights"),
    ("misclassified", "Misclassified test digits"),
    ("confusion", "Confusion matrix"),
    ("saliency", "Saliency"),
]


def backend_rows(summary: dict) -> list[tuple[str, dict]]:
    """(label, backend -> cell text) rows for the side-by-side table."""
    cols = summary["columns"]

    def cell(b, fn):
        c = cols[b]
        if c["status"] != "ok":
            return f"{c['status'].upper()}: {c['reason']}"
        try:
            return fn(c)
        except (KeyError, TypeError, ZeroDivisionError):
            return "-"

    def trained(c):
        if c.get("inference_only"):
            return f"no: inference only, loads {c['meta'].get('trained_on')}'s run ({c['inference_only']})"
        return "here"

    spec = [
        ("status", lambda c: "ok"),
        ("trained", trained),
        ("test accuracy", lambda c: f"{c['metrics']['test_accuracy']:.4f}" if c.get("metrics") else
         f"{c['introspect']['test_accuracy']:.4f} (predicted here)"),
        ("test loss", lambda c: f"{c['metrics']['test_loss']:.4f}"),
        ("seconds / epoch (fit)", lambda c: f"{sum(c['metrics']['seconds_per_epoch']) / len(c['metrics']['seconds_per_epoch']):.2f}"),
        ("misclassified (of 10,000)", lambda c: f"{round((1 - c['introspect']['test_accuracy']) * c['introspect']['test_images'])}"),
        ("jit_compile (resolved)", lambda c: str(c["meta"]["jit_compile"])),
        ("device", lambda c: c["meta"]["device"]),
        ("versions", lambda c: ", ".join(f"{k} {v}" for k, v in c["meta"]["versions"].items())),
        ("threads", lambda c: str(c["meta"]["threads"])),
    ]
    return [(label, {b: cell(b, fn) for b in cols}) for label, fn in spec]


def skipped(summary: dict, backend: str, name: str) -> str:
    """Why a column has no `name` figure (its status, or introspect's reason for skipping it)."""
    c = summary["columns"][backend]
    if c["status"] != "ok":
        return f"{c['status'].upper()}: {c['reason']}"
    return c.get("introspect", {}).get("skipped", {}).get(name) or "no figure"


def figure(summary: dict, backend: str, name: str) -> str | None:
    c = summary["columns"][backend]
    return c.get("introspect", {}).get("figures", {}).get(name) if c["status"] == "ok" else None


def stage_files(summary: dict, stage: str) -> dict:
    s = summary.get(stage) or {}
    return s.get("files", {}) if "error" not in s else {}

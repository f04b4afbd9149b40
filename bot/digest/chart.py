"""The daily-spend chart: a PNG drawn with matplotlib's Agg backend, no GUI, no pyplot.

matplotlib is imported on first use (it costs ~0.3 s), so the hub starts as fast
without it; `Figure` objects are self-contained, so concurrent digests share no state.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import date

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_DRAWING = threading.Lock()  # figures are separate, but font caches are shared: one at a time


def daily_spend_png(days: Sequence[tuple[date, float]], title: str) -> bytes:
    """A bar per day (USD); an empty series still gives a chart that says so. Blocking:
    call it in a worker thread."""
    with _DRAWING:
        return _draw(days, title)


def _draw(days: Sequence[tuple[date, float]], title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=(8, 3.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    labels = [f"{d:%d %b}" for d, _ in days]
    values = [usd for _, usd in days]
    ax.bar(range(len(values)), values, color="#4a90d9", width=0.8)
    ax.set_title(title, fontsize=11, loc="left")
    decimals = 0 if max(values, default=0) >= 10 else 2
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.{decimals}f}"))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda i, _: labels[int(i)] if 0 <= int(i) < len(labels) else ""))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    if not any(values):
        ax.text(0.5, 0.5, "no LLM spend in this period", transform=ax.transAxes, ha="center",
                color="#888888")
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()

"""The dashboard's charts as PNG images for sharing (`refund-sheet report --png DIR`).

The only module that imports matplotlib. It draws with the object API on an off-screen canvas (no pyplot, no
display), in a CJK font when one is installed: Noto Sans CJK (Debian: fonts-noto-cjk) first, then the usual
Windows, macOS and Linux Chinese fonts. Without any, the charts are still written and the caller says that the
Chinese labels may show as boxes (MISSING_FONT).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure

from . import stats

CJK_FONTS = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC", "Heiti SC",
    "SimHei", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Serif CJK SC", "AR PL UMing CN",
)
MISSING_FONT = "没有找到中文字体（如 Noto Sans CJK，Debian 软件包 fonts-noto-cjk）：图片中的中文可能显示为方框"
BLUE = "#1F4E78"
FILES = {"reasons": "by-reason.png", "products": "by-product.png", "weeks": "by-week.png"}


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed font of CJK_FONTS, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _figure(height: float) -> Figure:
    return Figure(figsize=(9, height), dpi=110, layout="constrained")


def _bars(groups: Sequence[stats.Group], title: str, path: Path) -> Path:
    labels = [g.key for g in groups][::-1]  # matplotlib draws the first bar at the bottom
    counts = [g.cases for g in groups][::-1]
    figure = _figure(max(2.6, 0.42 * len(groups) + 1.2))
    ax = figure.add_subplot()
    bars = ax.barh(labels, counts, color=BLUE)
    ax.bar_label(bars, padding=3, fontsize=9)
    ax.set_title(title, loc="left", fontsize=13)
    ax.set_xlabel("售后单数")
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(x=0.12)
    figure.savefig(path, metadata={"Software": None})
    return path


def _weeks(groups: Sequence[stats.Group], title: str, path: Path) -> Path:
    labels = [g.key[5:] for g in groups]  # 11-16: the year is in the title
    figure = _figure(3.8)
    ax = figure.add_subplot()
    ax.plot(labels, [g.cases for g in groups], marker="o", color=BLUE)
    for x, g in enumerate(groups):
        ax.annotate(str(g.cases), (x, g.cases), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=9)
    ax.set_title(title, loc="left", fontsize=13)
    ax.set_ylabel("售后单数")
    ax.set_ylim(bottom=0, top=max(g.cases for g in groups) * 1.2 + 1)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    if len(labels) > 12:
        ax.tick_params(axis="x", labelrotation=45)
    figure.savefig(path, metadata={"Software": None})
    return path


def write_pngs(d: stats.Dashboard, folder: Path) -> list[Path]:
    """by-reason.png, by-product.png and by-week.png in ``folder`` (created if needed); a chart with no data is
    skipped. Returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    font = cjk_font()
    with rc_context({"font.family": [font, "DejaVu Sans"]} if font else None), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing")  # no CJK font: the caller says so once
        if d.reasons:
            written.append(_bars(d.reasons[: stats.TOP], "售后单数：按售后原因", folder / FILES["reasons"]))
        if d.top_by_count:
            written.append(_bars(d.top_by_count, "售后单数：按商品（Top 10）", folder / FILES["products"]))
        if d.weeks:
            year = d.weeks[-1].key[:4]
            written.append(_weeks(d.weeks, f"售后单数：按周（{year} 年，每周从周一算起）", folder / FILES["weeks"]))
    return written

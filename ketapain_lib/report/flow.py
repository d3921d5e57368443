"""Figure 1: the flow of participants as the CONSORT extension for randomised crossover trials draws it.

Dwan, Li, Altman and Elbourne (BMJ 2019;366:l4378) ask a crossover trial's diagram for the sequences, not
arms: screened and excluded, randomized, each sequence with its patients, each period with the treatment of
that sequence, the washout between periods, the discontinuations in the period they happened, and the patients
analysed. Every count comes from the raw data (screening, randomization, infusions, disposition, diary); the
layout is computed in points from the top, so a dataset with more drop-outs gets a taller figure, not a
crowded one, and its type stays :data:`~ketapain_lib.report.figures.SMALLEST` points at
:data:`~ketapain_lib.report.figures.WIDTH` inches: legible at a phone's width.
"""
from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pandas as pd

from .. import formatting as fmt
from ..design import PERIOD_DAYS, PERIODS, SEQUENCES, TREATMENT_CODES, TREATMENT_LABELS, TREATMENTS
from ..rawdata.load import Trial
from ..stats import derive
from .figure_style import COLOURS, SMALLEST, WIDTH, new_figure, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

INK, BAND, SHADE, LEFT = "#333333", "#F4F4F4", "#999999", "#FFF1DD"
LINE = SMALLEST * 1.3  # the height of a line of type (points)
MARGIN, GAP, SIDE = 4.0, 4.0, 118.0  # page margin, gap between sequence columns, width of the left boxes


#: The tables of the raw data the diagram is drawn from, each with what it gives the diagram (in the reader's
#: words: the Population chapter states them; a test draws the diagram from these tables alone).
SOURCES = {
    "screening": "the screening log (the patients screened, and why some were not randomized)",
    "randomization": "the randomization list (each patient's sequence)",
    "infusions": "the infusion records (the patients infused in each period, and the days between infusions)",
    "disposition": "the disposition records (who discontinued, in which period and why)",
    "diary": "the pain diaries (who has a primary endpoint, and so is analysed with each treatment)",
}


def flow_counts_by_sequence(trial: Trial) -> dict:
    """The counts of the diagram, from the raw data.

    Returns ``sequences`` (each sequence of :data:`~ketapain_lib.design.SEQUENCES` with its patients randomized,
    its treatment and infused patients in each period, the patients who left during each period and those
    analysed), ``left`` (the discontinued patients with the period they were in and the reason), ``gaps`` (days
    between consecutive infusions of a patient) and ``analysed`` (patients with a primary endpoint, by treatment).
    """
    randomization = trial.randomization.assign(sequence=trial.randomization["sequence"].astype(str))
    infusions = trial.infusions.assign(patient_id=trial.infusions["patient_id"].astype(str),
                                       period=trial.infusions["period"].astype(int))
    sequence_of = dict(zip(randomization["patient_id"].astype(str), randomization["sequence"]))
    left = derive.discontinuations(trial.disposition, trial.infusions)
    left = left.assign(sequence=left["patient_id"].map(sequence_of))
    primary_auc = derive.with_treatment(derive.auc(trial.diary, periods=trial.infusions), trial.infusions)
    with_endpoint = primary_auc.dropna(subset=["auc"])
    analysed_patients = set(with_endpoint["patient_id"].astype(str))
    rows = []
    for sequence in SEQUENCES:
        patients = set(randomization.loc[randomization["sequence"] == sequence, "patient_id"].astype(str))
        periods = []
        for period, code in zip(PERIODS, sequence.split("-")):
            infused = infusions[(infusions["period"] == period) & infusions["patient_id"].isin(patients)]
            periods.append({"period": period, "treatment": TREATMENT_CODES[code], "code": code,
                            "infused": int(infused["patient_id"].nunique()),
                            "left": int(((left["period"] == period) & (left["sequence"] == sequence)).sum())})
        rows.append({"sequence": sequence, "randomized": len(patients), "periods": periods,
                     "analysed": len(patients & analysed_patients)})
    days = infusions.sort_values(["patient_id", "period"]).groupby("patient_id")["study_day"].diff().dropna()
    analysed = with_endpoint.groupby("treatment", observed=True)["patient_id"].nunique()
    return {"sequences": rows, "left": left, "gaps": days.astype(int),
            "analysed": {t: int(analysed.get(t, 0)) for t in TREATMENTS}}


def _reasons(frame: pd.DataFrame) -> str:
    tally = frame["reason"].str.replace("_", " ").value_counts().sort_index()
    return ", ".join(f"{reason} {count}" for reason, count in tally.items())


def _wrap(text: str, width_pt: float) -> str:
    """``text`` broken into lines that fit ``width_pt`` points (an average glyph is 0.55 em wide)."""
    return "\n".join(textwrap.wrap(text, max(10, int(width_pt / (0.55 * SMALLEST)) - 2)))


def _layout(trial: Trial) -> tuple[list[tuple], dict, dict]:
    """The diagram's rows from the top: (kind, top, height, payload) in points, with the counts."""
    counts = derive.flow_counts(trial.screening)
    outcome = trial.screening["screening_outcome"].astype(str)
    reasons = trial.screening.loc[outcome != "randomized", "reason"].astype(str).value_counts().sort_index()
    flow = flow_counts_by_sequence(trial)
    left, gaps = flow["left"], flow["gaps"]
    interval = (f"next infusion {fmt.fixed(float(gaps.median()), 0)} days later (median; range "
                f"{int(gaps.min())}-{int(gaps.max())})") if len(gaps) else "no second infusion"
    rows: list[tuple] = []
    y = 0.0

    def add(kind, height, payload=None):
        nonlocal y
        rows.append((kind, y, height, payload))
        y += height

    excluded = [f"Not randomized, n = {counts['not_randomized']}", *(f"{r}: {n}" for r, n in reasons.items())]
    add("screened", max(2, len(excluded)) * LINE + 10, excluded)
    add("gap", 12)
    add("randomized", 2 * LINE + 6)
    before = left[left["period"] == 0]
    if len(before):
        add("band", 2 * LINE + 4, f"Left before the first infusion: {len(before)} ({_reasons(before)})")
    add("gap", 10)
    add("sequences", 2 * LINE + 6)
    for period in PERIODS:
        during = left[left["period"] == period]
        add("gap", 8)
        add("period", (3 if len(during) else 2) * LINE + 6, period)
        if len(during):
            add("gap", 4)
            add("band", 2 * LINE + 4, f"Discontinued during period {period}: {len(during)} ({_reasons(during)})")
        if period != PERIODS[-1]:
            add("gap", 4)
            add("band", 2 * LINE + 4, f"Washout: {PERIOD_DAYS} days of diary after the infusion; {interval}")
    add("gap", 8)
    add("analysed", 2 * LINE + 6)
    add("gap", 6)
    analysed = ", ".join(f"{TREATMENT_LABELS[t].lower()} {n}" for t, n in flow["analysed"].items())
    add("summary", 3 * LINE + 6, [f"Analysed, intention to treat: all {counts['randomized']} randomized;",
                                  f"with a primary endpoint: {analysed}"])
    add("gap", 4)
    add("legend", LINE, " · ".join(f"{code} {TREATMENT_LABELS[t].lower()}" for code, t in TREATMENT_CODES.items()))
    return rows, {"height": y + 4, **counts}, flow


class _Canvas:
    """A figure drawn in points from the top left: boxes with centred text, arrows and lines between them."""

    def __init__(self, height: float, columns: int):
        self.width = WIDTH * 72
        self.figure = new_figure(figsize=(WIDTH, height / 72))
        self.axis = self.figure.add_axes([0, 0, 1, 1])
        self.axis.set_xlim(0, self.width)
        self.axis.set_ylim(height, 0)  # y grows downwards, as the layout
        self.axis.axis("off")
        self.column = (self.width - 2 * MARGIN - (columns - 1) * GAP) / columns
        self.centres = [MARGIN + self.column / 2 + i * (self.column + GAP) for i in range(columns)]

    def box(self, x, top, w, h, text, face="white", colour=INK, weight="normal"):
        from matplotlib import patches

        self.axis.add_patch(patches.FancyBboxPatch((x - w / 2, top), w, h, boxstyle="round,pad=0,rounding_size=3",
                                                   facecolor=face, edgecolor=colour, linewidth=0.8, zorder=2))
        self.axis.text(x, top + h / 2, text, ha="center", va="center", fontsize=SMALLEST, color=INK, weight=weight,
                       linespacing=1.15, zorder=3)

    def arrow(self, x0, y0, x1, y1):
        self.axis.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=1,
                           arrowprops={"arrowstyle": "-|>", "color": INK, "linewidth": 0.8, "mutation_scale": 7,
                                       "shrinkA": 0, "shrinkB": 0})

    def line(self, xs, ys):
        self.axis.plot(xs, ys, color=INK, linewidth=0.8, zorder=1)


@styled
def flow_diagram(trial: Trial) -> Figure:
    """Figure 1, drawn from :func:`_layout`: lanes of boxes, one per sequence, from randomization to analysis."""
    rows, counts, flow = _layout(trial)
    sequences = flow["sequences"]
    canvas = _Canvas(counts["height"], len(sequences))
    full, side_x = canvas.width - 2 * MARGIN, MARGIN + SIDE / 2
    bottoms: list[float] = []  # where each lane's last box ends
    for kind, top, h, payload in rows:
        if kind == "screened":
            small = 2 * LINE + 6
            canvas.box(side_x, top + (h - small) / 2, SIDE, small, f"Screened\nn = {counts['screened']}")
            right = MARGIN + SIDE + 16
            canvas.box((right + canvas.width - MARGIN) / 2, top, canvas.width - MARGIN - right, h, "\n".join(payload))
            canvas.arrow(MARGIN + SIDE, top + h / 2, right, top + h / 2)
            bottoms = [top + (h + small) / 2]
        elif kind == "randomized":
            canvas.box(side_x, top, SIDE, h, f"Randomized\nn = {counts['randomized']}", weight="bold")
            canvas.arrow(side_x, bottoms[0], side_x, top)
            bottoms = [top + h]
        elif kind == "band":
            canvas.box(canvas.width / 2, top, full, h, _wrap(payload, full), face=BAND, colour=SHADE)
        elif kind == "sequences":
            rail = (bottoms[0] + top) / 2  # one rail from the randomization, an arrow down to each sequence
            canvas.line([side_x] * 2, [bottoms[0], rail])
            canvas.line([canvas.centres[0], canvas.centres[-1]], [rail, rail])
            for centre, row in zip(canvas.centres, sequences):
                canvas.box(centre, top, canvas.column, h, f"{row['sequence']}\nn = {row['randomized']}", weight="bold")
                canvas.arrow(centre, rail, centre, top)
            bottoms = [top + h] * len(sequences)
        elif kind in ("period", "analysed"):
            for i, (centre, row) in enumerate(zip(canvas.centres, sequences)):
                canvas.box(centre, top, canvas.column, h, *_cell(kind, row, payload))
                canvas.arrow(centre, bottoms[i], centre, top)
            bottoms = [top + h] * len(sequences)
        elif kind == "summary":
            canvas.box(canvas.width / 2, top, full, h, "\n".join(_wrap(text, full) for text in payload))
        elif kind == "legend":
            canvas.axis.text(canvas.width / 2, top + h / 2, payload, ha="center", va="center", fontsize=SMALLEST,
                             color=INK)
    return canvas.figure


def _cell(kind: str, row: dict, period: int | None) -> tuple[str, str, str]:
    """The text, face and edge colours of a sequence's box in a period row or the analysed row."""
    if kind == "analysed":
        return f"Analysed\n{row['analysed']}", "white", INK
    cell = row["periods"][period - 1]
    text = f"Period {period}\n{cell['code']}: {cell['infused']}" + (f"\nleft: {cell['left']}" if cell["left"] else "")
    return text, LEFT if cell["left"] else "white", COLOURS[cell["treatment"]]

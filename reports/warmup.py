"""Imported once by the report's fork server (reports.drawing): the heavy imports and the font
files, so that every worker process forked from it starts drawing at once."""

from __future__ import annotations


def warm() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    import reports.charts  # noqa: F401  (and pandas, through the modules the jobs live in)
    import reports.pdf  # noqa: F401
    import reports.roster  # noqa: F401
    import reports.workbook  # noqa: F401

    # Draw one text: loads DejaVu Sans (regular and bold) into the FreeType cache of this process.
    fig = Figure(figsize=(1, 1))
    FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, "Ag", fontweight="bold")
    fig.text(0.1, 0.1, "Ag")
    fig.canvas.draw()
    font_manager.findfont("DejaVu Sans")


warm()

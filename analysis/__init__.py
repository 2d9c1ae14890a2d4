"""Pure text analysis: no database, broker or web imports (see DESIGN.md, 'Imports')."""

from analysis.pipeline import Analysis, analyse, analyse_many

__all__ = ["Analysis", "analyse", "analyse_many"]

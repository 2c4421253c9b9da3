"""mlscore: the ML Test Score (Breck et al., 2017) for real ML systems, with evidence."""

from __future__ import annotations

__version__ = "0.1.0"

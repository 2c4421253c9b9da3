"""Income classifier: predicts whether a person's yearly income exceeds 50k from census-style features."""

__version__ = "0.3.0"

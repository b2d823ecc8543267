"""refund-sheet: an Excel refund tracker that decides, explains and answers after-sales cases."""

__version__ = "0.1.0"

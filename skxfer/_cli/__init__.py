"""The ``skxfer`` command (``skxfer demo``, ``skxfer compare``), on top of the library.

``_main`` parses the arguments and turns errors into one line; ``_demo`` is the
heart-disease demo; ``_csv`` reads and checks a user's CSV files; ``_encode`` turns tables
into numbers; ``_compare`` runs :func:`skxfer.model_selection.transfer_curve` on them; and
``_report`` prints the table and verdicts and draws the learning curves.
"""

from skxfer._cli._main import main

__all__ = ["main"]

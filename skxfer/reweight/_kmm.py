from skxfer.reweight._base import BaseWeighter


class KMMWeighter(BaseWeighter):
    """Being written (issue 2)."""

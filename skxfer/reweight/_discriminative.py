from skxfer.reweight._base import BaseWeighter


class DiscriminativeWeighter(BaseWeighter):
    """Being written (issue 2)."""

from skxfer.reweight._base import BaseWeighter


class NearestNeighborsWeighter(BaseWeighter):
    """Being written (issue 2)."""

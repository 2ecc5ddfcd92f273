from skxfer.reweight._base import BaseWeighter


class RULSIFWeighter(BaseWeighter):
    """Being written (issue 2)."""

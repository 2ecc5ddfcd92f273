from skxfer.reweight._base import BaseWeighter


class ULSIFWeighter(BaseWeighter):
    """Being written (issue 2)."""

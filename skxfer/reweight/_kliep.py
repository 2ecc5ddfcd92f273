from skxfer.reweight._base import BaseWeighter


class KLIEPWeighter(BaseWeighter):
    """Being written (issue 2)."""

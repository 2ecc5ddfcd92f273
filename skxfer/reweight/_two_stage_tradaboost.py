from abc import ABCMeta, abstractmethod

from sklearn.base import BaseEstimator


class TwoStageTrAdaBoostRegressor(BaseEstimator, metaclass=ABCMeta):
    """Being written (issue 2)."""

    @abstractmethod
    def _unwritten(self): ...

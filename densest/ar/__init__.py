"""Autoregression: exact least squares and sparse AR (AR-Net to come).

:class:`LeastSquaresAR` fits exact conditional least squares (equal to
statsmodels ``AutoReg``), Yule-Walker or Burg without forming the lag matrix;
:class:`SparseAR` selects lags by the adaptive lasso on the same Gram. AR-Net
and a lag-embedding transformer are planned (project issue 4).
"""

from densest.ar._least_squares import LeastSquaresAR
from densest.ar._sparse import SparseAR

__all__ = ["LeastSquaresAR", "SparseAR"]

"""Least-squares autoregression (and, to come, AR-Net).

:class:`LeastSquaresAR` fits exact conditional least squares (equal to
statsmodels ``AutoReg``), Yule-Walker or Burg without forming the lag matrix.
AR-Net, a lag-embedding transformer and a sparse AR are planned (project
issue 4).
"""

from densest.ar._least_squares import LeastSquaresAR

__all__ = ["LeastSquaresAR"]

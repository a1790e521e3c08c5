"""Autoregression: exact least squares, sparse AR and AR-Net.

:class:`LeastSquaresAR` fits exact conditional least squares (equal to
statsmodels ``AutoReg``), Yule-Walker or Burg without forming the lag matrix;
:class:`SparseAR` selects lags by the adaptive lasso on the same Gram;
:class:`ARNet` fits the same model as a one-layer network by stochastic
gradient with AR-Net's sparsity penalty (torch, from ``densest[deep]``).
"""

from densest.ar._arnet import ARNet
from densest.ar._least_squares import LeastSquaresAR
from densest.ar._sparse import SparseAR

__all__ = ["ARNet", "LeastSquaresAR", "SparseAR"]

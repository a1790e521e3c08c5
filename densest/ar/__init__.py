"""Autoregression: exact least squares, sparse AR and AR-Net.

:class:`LeastSquaresAR` fits exact conditional least squares (equal to
statsmodels ``AutoReg``), Yule-Walker or Burg without forming the lag matrix;
:class:`SparseAR` selects lags by the adaptive lasso on the same Gram;
:class:`ARNet` fits the same model as a one-layer network by stochastic
gradient with AR-Net's sparsity penalty (torch, from ``densest[deep]``).
:class:`LagRegressor` makes any scikit-learn regressor autoregressive, and
:class:`LagEmbedding` turns time-ordered columns into their lags.
"""

from densest.ar._arnet import ARNet
from densest.ar._least_squares import LeastSquaresAR
from densest.ar._reduction import LagEmbedding, LagRegressor, lag_matrix
from densest.ar._sparse import SparseAR

__all__ = ["ARNet", "LagEmbedding", "LagRegressor", "LeastSquaresAR", "SparseAR", "lag_matrix"]

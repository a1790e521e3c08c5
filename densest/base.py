"""Mixins shared by densest's estimators."""

import numpy as np
from sklearn.base import DensityMixin as _SklearnDensityMixin


class DensityMixin(_SklearnDensityMixin):
    """Mixin for density estimators: ``score`` is the mean log-likelihood.

    scikit-learn's :class:`~sklearn.base.DensityMixin` returns None from
    ``score`` and :class:`sklearn.neighbors.KernelDensity` returns the *sum* of
    the log-likelihoods; densest returns the *mean*, so that scores compare
    across data sets of different sizes and ``GridSearchCV`` ranks models
    without a custom scorer.  Subclasses implement ``score_samples``.
    """

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points to evaluate.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples` over the rows of ``X``.
        """
        return float(np.mean(self.score_samples(X)))

"""AR-Net's training loop in torch (no scikit-learn objects here).

The model is one linear layer on the last p values of a standardised series,
trained by Adam on mini-batches of complete windows with a one-cycle learning
rate, plus AR-Net's sparsity penalty on a quadratic warm-up.
"""

import math
from dataclasses import dataclass

import numpy as np

# Inside |w|^(1/c2), whose derivative is infinite at 0: with the offset the
# gradient at w = 0 is 0 (torch's sign(0)), not 0 * inf = NaN.
ABS_OFFSET = 1e-9
# One-cycle schedule (AR-Net 1.2): warm up for a quarter of the steps from
# lr / 25, then anneal to lr / (25 * 1e4).
PCT_START, DIV_FACTOR, FINAL_DIV_FACTOR = 0.25, 25.0, 1e4
# The paper's c_lambda = sqrt(loss) / 100 holds at its 100 000 training windows;
# zeroing coefficients whose noise is of order n^(-1/2) takes a weight that grows
# as n^(-3/4) under the penalty's |w|^(-1/2) slope near 0 (c2 = 2).
REFERENCE_WINDOWS, WINDOWS_EXPONENT = 1e5, 0.75
# The penalty grows as ((progress - start) / (full - start))^2 and is at full
# strength halfway through training (AR-Net 1.2).
REG_START, REG_FULL = 0.0, 0.5
# Without a penalty the returned weights are the mean of the iterates from this
# fraction of the steps on (Polyak-Ruppert tail averaging): 3-4x closer to the
# least-squares weights than the last iterate (benchmarks/RESULTS.md). With the
# penalty the last iterate is kept: averaging keeps the iterates' way down to 0.
AVERAGE_FROM = 0.5


@dataclass
class TrainingResult:
    """Weights in lag order (lag 1 first), bias, per-epoch losses and penalty."""

    coef: np.ndarray
    bias: float
    loss_curve: list
    reg_lambda: float


def complete_targets(z, order):
    """Indices t >= order whose window z[t - order .. t] holds no NaN."""
    missing = np.concatenate([[0], np.cumsum(np.isnan(z))])
    t = np.arange(order, z.size)
    return t[missing[t + 1] - missing[t - order] == 0]


def sparsity_penalty(torch, weight, c1, c2):
    """AR-Net's R(w) = mean(2 / (1 + exp(-c1 |w|^(1/c2))) - 1)."""
    magnitude = (weight.abs() + ABS_OFFSET) ** (1.0 / c2)
    return (2.0 / (1.0 + torch.exp(-c1 * magnitude)) - 1.0).mean()


def sparsity_penalty_gradient(torch, weight, c1, c2):
    """Gradient of :func:`sparsity_penalty` (0 at w = 0)."""
    shifted = weight.abs() + ABS_OFFSET
    decay = torch.exp(-c1 * shifted ** (1.0 / c2))
    slope = (2.0 * c1 / c2) * decay / (1.0 + decay) ** 2 * shifted ** (1.0 / c2 - 1.0)
    return slope * torch.sign(weight) / weight.numel()


def penalty_weight(progress, reg_max):
    """The penalty's weight at ``progress`` (0 to 1) of training."""
    ramp = min(max((progress - REG_START) / (REG_FULL - REG_START), 0.0), 1.0)
    return reg_max * ramp**2


def one_cycle(total, learning_rate):
    """Learning rate of each of ``total`` steps (torch's ``OneCycleLR``, cosine, two phases)."""
    low, end = learning_rate / DIV_FACTOR, learning_rate / (DIV_FACTOR * FINAL_DIV_FACTOR)
    peak_step = PCT_START * total - 1.0
    steps = np.arange(total, dtype=np.float64)
    warm = np.clip(steps / max(peak_step, 1e-12), 0.0, 1.0)
    cool = np.clip((steps - peak_step) / max(total - 1.0 - peak_step, 1e-12), 0.0, 1.0)
    rising = learning_rate + (low - learning_rate) * 0.5 * (1.0 + np.cos(np.pi * warm))
    falling = end + (learning_rate - end) * 0.5 * (1.0 + np.cos(np.pi * cool))
    return np.where(steps <= peak_step, rising, falling)


def batch_gradient(torch, batch, theta, grad, loss, bias):
    """Write the gradient of the mean data loss on ``batch`` into ``grad``.

    ``batch`` holds windows (oldest lag first, target last); ``theta`` the
    weights followed by the bias (ignored
    without ``bias``). Returns the batch's sum of squared errors.
    """
    order = batch.shape[1] - 1
    target = batch[:, order] - theta[order] if bias else batch[:, order]
    err = torch.addmv(target, batch[:, :order], theta[:order], beta=-1.0)
    squared = err.dot(err)
    if loss == "huber":
        err.clamp_(-1.0, 1.0)
    else:
        err.mul_(2.0)
    torch.mv(batch[:, :order].T, err, out=grad[:order])
    grad[order] = err.sum() if bias else 0.0
    grad.div_(err.numel())
    return squared


class Adam:
    """Adam on one flat parameter tensor (in-place updates, no autograd)."""

    def __init__(self, torch, theta, beta1=0.9, beta2=0.999, eps=1e-8):
        self.theta, self.beta1, self.beta2, self.eps = theta, beta1, beta2, eps
        self.m, self.v = torch.zeros_like(theta), torch.zeros_like(theta)
        self.t = 0

    def step(self, grad, lr):
        self.t += 1
        self.m.mul_(self.beta1).add_(grad, alpha=1.0 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(grad, grad, value=1.0 - self.beta2)
        denom = self.v.sqrt().div_(math.sqrt(1.0 - self.beta2**self.t)).add_(self.eps)
        self.theta.addcdiv_(self.m, denom, value=-lr / (1.0 - self.beta1**self.t))


def series_windows(torch, z, order, device, dtype):
    """The series' windows as a view (row r: z[r .. r + order]) and the complete rows."""
    series = torch.as_tensor(np.nan_to_num(z), dtype=dtype, device=device)
    rows = torch.as_tensor(complete_targets(z, order) - order, device=device)
    return series.unfold(0, order + 1, 1), rows


def embedding_windows(torch, X, y, device, dtype):
    """Windows from a lag embedding (column i = lag i + 1): oldest lag first, target last."""
    windows = np.column_stack([X[:, ::-1], y])
    rows = torch.arange(len(y), device=device)
    return torch.as_tensor(windows, dtype=dtype, device=device), rows


def train(windows, rows, *, bias, sparsity, c1, c2, reg_scale, loss, n_epochs, batch_size,
          learning_rate, seed, progress=None):  # fmt: skip
    """Train AR-Net on a standardised series.

    The gradients of the linear model's loss and of the penalty are written
    out (tests check them against autograd): a step is then a dozen small
    tensor operations, about 5x faster than autograd plus ``torch.optim``.

    Parameters
    ----------
    windows : torch.Tensor of shape (n_windows, p + 1)
        Standardised windows, oldest lag first and the target last (a view
        from :func:`series_windows` or a tensor from :func:`embedding_windows`).
    rows : torch.Tensor of int
        The rows of ``windows`` to train on (those with no missing value).
    bias : bool
        Learn a constant.
    sparsity : float or None
        Expected fraction s of non-zero lags; the penalty is lambda =
        c_lambda (1/s - 1). None or 1: no penalty.
    c1, c2 : float
        Shape of the penalty.
    reg_scale : float or None
        c_lambda; None: 0.01 * sqrt(mean squared error of the previous epoch)
        * (1e5 / n_windows)^(3/4), the first epoch using 1 (the loss of the zero
        model on unit variance).
    loss : {"mse", "huber"}
        Data loss (huber: smooth L1 with threshold 1).
    n_epochs, batch_size : int
        Passes over the windows and mini-batch size.
    learning_rate : float
        Peak learning rate of the one-cycle schedule.
    seed : int
        Seed of the shuffles.
    progress : callable or None
        Wraps the epoch range (e.g. ``tqdm``).

    Returns
    -------
    result : TrainingResult
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    order, n_rows = windows.shape[1] - 1, rows.numel()
    dtype, device = windows.dtype, windows.device
    # theta[j] multiplies z[t - order + j] (window order, oldest first); theta[order] is the bias.
    theta = torch.zeros(order + 1, dtype=dtype, device=device)
    weight, grad = theta[:order], torch.empty_like(theta)
    optimizer = Adam(torch, theta)
    steps_per_epoch = math.ceil(n_rows / batch_size)
    rates = one_cycle(n_epochs * steps_per_epoch, learning_rate)
    total = rates.size
    sparse = sparsity is not None and sparsity < 1.0
    noise_loss, reg_max, curve, step = 1.0, 0.0, [], 0
    average_from = total if sparse else int(AVERAGE_FROM * total)
    mean_theta = theta.clone()
    epochs = range(n_epochs) if progress is None else progress(range(n_epochs))
    for _ in epochs:
        if sparse:
            scale = reg_scale
            if scale is None:
                scale = 0.01 * math.sqrt(noise_loss) * (REFERENCE_WINDOWS / n_rows) ** WINDOWS_EXPONENT
            reg_max = scale * (1.0 / sparsity - 1.0)
        shuffled = rows[torch.randperm(n_rows, generator=gen).to(device)]
        squared = torch.zeros((), dtype=dtype, device=device)
        for start in range(0, n_rows, batch_size):
            batch = windows[shuffled[start:start + batch_size]]
            squared += batch_gradient(torch, batch, theta, grad, loss, bias)
            if sparse:
                reg = penalty_weight(step / total, reg_max)
                if reg > 0.0:
                    grad[:order].add_(sparsity_penalty_gradient(torch, weight, c1, c2), alpha=reg)
            optimizer.step(grad, float(rates[step]))
            step += 1
            if step > average_from:
                mean_theta.add_(theta - mean_theta, alpha=1.0 / (step - average_from))
        noise_loss = float(squared) / n_rows
        curve.append(noise_loss)
    if average_from < total:
        theta = mean_theta
    coef = theta[:order].cpu().double().numpy()[::-1].copy()
    return TrainingResult(coef, float(theta[order]), curve, reg_max)

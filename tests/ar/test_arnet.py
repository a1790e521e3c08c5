"""ARNet: the training pieces against torch's own, recovery of dense and sparse AR."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from densest.ar import ARNet, LeastSquaresAR  # noqa: E402
from densest.ar import _sgd  # noqa: E402
from densest.datasets import make_ar_process  # noqa: E402

CPU = torch.device("cpu")


def stpe(estimate, truth):
    return 100 * np.abs(estimate - truth).sum() / (np.abs(estimate).sum() + np.abs(truth).sum())


@pytest.mark.parametrize("c1, c2", [(3.0, 3.0), (2.0, 2.0), (1.0, 0.5)])
def test_penalty_gradient_equals_autograd(c1, c2):
    weight = torch.tensor([-0.7, -1e-4, 0.0, 2e-6, 0.3, 5.0], dtype=torch.float64, requires_grad=True)
    _sgd.sparsity_penalty(torch, weight, c1, c2).backward()
    manual = _sgd.sparsity_penalty_gradient(torch, weight.detach(), c1, c2)
    np.testing.assert_allclose(manual.numpy(), weight.grad.numpy(), rtol=1e-12, atol=0)
    assert manual[2] == 0.0  # finite (zero) at w = 0, where |w|^(1/c2) has an infinite slope


def test_penalty_value():
    w = torch.tensor([0.5, -0.5, 0.0], dtype=torch.float64)
    expected = np.mean([2 / (1 + np.exp(-3 * 0.5 ** (1 / 3))) - 1] * 2 + [0.0])
    assert float(_sgd.sparsity_penalty(torch, w, 3.0, 3.0)) == pytest.approx(expected, abs=2e-3)


@pytest.mark.parametrize("loss", ["mse", "huber"])
@pytest.mark.parametrize("bias", [True, False])
def test_batch_gradient_equals_autograd(loss, bias):
    rng = np.random.default_rng(0)
    batch = torch.as_tensor(3 * rng.standard_normal((17, 6)))
    theta = torch.as_tensor(rng.standard_normal(6), dtype=torch.float64).requires_grad_(True)
    pred = batch[:, :5] @ theta[:5] + (theta[5] if bias else 0.0)
    fn = torch.nn.functional.mse_loss if loss == "mse" else torch.nn.functional.smooth_l1_loss
    fn(pred, batch[:, 5]).backward()
    grad = torch.empty(6, dtype=torch.float64)
    squared = _sgd.batch_gradient(torch, batch, theta.detach(), grad, loss, bias)
    expected = theta.grad.numpy().copy()
    if not bias:
        expected[5] = 0.0
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-12, atol=1e-14)
    assert float(squared) == pytest.approx(float(((pred.detach() - batch[:, 5]) ** 2).sum()), rel=1e-12)


def test_adam_equals_torch_adam():
    rng = np.random.default_rng(1)
    ours = torch.zeros(4, dtype=torch.float64)
    theirs = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    reference = torch.optim.Adam([theirs], lr=0.01)
    adam = _sgd.Adam(torch, ours)
    for lr in [0.01, 0.02, 0.005, 0.01]:
        g = torch.as_tensor(rng.standard_normal(4))
        for group in reference.param_groups:
            group["lr"] = lr
        theirs.grad = g.clone()
        reference.step()
        adam.step(g, lr)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("total", [10, 101, 1000])
def test_one_cycle_equals_torch(total):
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.1, total_steps=total, pct_start=0.25, div_factor=25.0,
        final_div_factor=1e4, cycle_momentum=False,
    )
    expected = []
    for _ in range(total):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(_sgd.one_cycle(total, 0.1), expected, rtol=1e-12)


def test_complete_targets_brute_force():
    rng = np.random.default_rng(2)
    z = rng.standard_normal(60)
    z[rng.choice(60, 8, replace=False)] = np.nan
    order = 3
    expected = [t for t in range(order, 60) if np.isfinite(z[t - order:t + 1]).all()]
    np.testing.assert_array_equal(_sgd.complete_targets(z, order), expected)


def test_penalty_weight_ramp():
    assert _sgd.penalty_weight(0.0, 2.0) == 0.0
    assert _sgd.penalty_weight(0.25, 2.0) == pytest.approx(0.5)
    assert _sgd.penalty_weight(0.5, 2.0) == 2.0
    assert _sgd.penalty_weight(0.9, 2.0) == 2.0


@pytest.mark.parametrize("sparsity", [None, 0.5])
def test_tail_average_without_penalty(monkeypatch, sparsity):
    # An optimizer whose k-th step sets every weight to k: the dense fit returns
    # the mean of the iterates after the first AVERAGE_FROM of the steps, the
    # penalised fit the last iterate.
    def count_steps(self, grad, lr):
        self.t += 1
        self.theta.fill_(float(self.t))

    monkeypatch.setattr(_sgd.Adam, "step", count_steps)
    windows, rows = _sgd.series_windows(torch, np.arange(41.0), 2, "cpu", torch.float64)
    result = _sgd.train(windows, rows, bias=True, sparsity=sparsity, c1=2.0, c2=2.0, reg_scale=0.1,
                        loss="mse", n_epochs=5, batch_size=4, learning_rate=1e-3, seed=0)  # fmt: skip
    total = 5 * 10
    start = int(_sgd.AVERAGE_FROM * total)
    expected = np.mean(np.arange(start + 1, total + 1)) if sparsity is None else total
    np.testing.assert_allclose(result.coef, [expected, expected], rtol=1e-12)
    assert result.bias == pytest.approx(expected, rel=1e-12)


def test_dense_matches_least_squares():
    y = 5.0 + make_ar_process([0.5, -0.3, 0.2], 20_000, random_state=0)
    ols = LeastSquaresAR(3).fit(y)
    net = ARNet(3, n_epochs=10, device="cpu", random_state=0).fit(y)
    np.testing.assert_allclose(net.coef_, ols.coef_, atol=5e-3)
    assert net.intercept_ == pytest.approx(ols.intercept_, abs=0.02)
    assert net.sigma2_ == pytest.approx(ols.sigma2_, rel=1e-3)
    assert net.sigma2_ >= ols.sigma2_  # least squares minimises the RSS
    assert net.n_obs_ == ols.n_obs_
    assert net.aic_ >= ols.aic_
    np.testing.assert_allclose(net.forecast(5), ols.forecast(5), atol=0.02)


def test_sparse_finds_the_true_lags():
    true = np.array([0.2, 0.3, -0.5])
    p = 30
    y = make_ar_process(true, 30_000, random_state=3)
    net = ARNet(p, sparsity=3 / p, n_epochs=10, device="cpu", random_state=0).fit(y)
    padded = np.zeros(p)
    padded[:3] = true
    assert np.abs(net.coef_[3:]).max() < 0.01
    assert stpe(net.coef_, padded) < 2.0
    ols = LeastSquaresAR(p).fit(y)
    assert stpe(net.coef_, padded) < stpe(ols.coef_, padded) / 2
    assert net.reg_lambda_ > 0


def test_no_nan_at_large_order_with_zero_weights():
    y = make_ar_process([0.5], 3000, random_state=4)
    net = ARNet(300, sparsity=0.01, n_epochs=2, device="cpu", random_state=0).fit(y)
    assert np.isfinite(net.coef_).all() and np.isfinite(net.loss_curve_).all()


def test_missing_windows_are_skipped():
    y = make_ar_process([0.6, -0.2], 20_000, random_state=5)
    y[np.random.default_rng(0).choice(y.size, 200, replace=False)] = np.nan
    net = ARNet(2, n_epochs=10, device="cpu", random_state=0).fit(y)
    ols = LeastSquaresAR(2).fit(y)
    np.testing.assert_allclose(net.coef_, ols.coef_, atol=5e-3)
    assert net.n_obs_ == ols.n_obs_
    assert np.isfinite(net.sigma2_)


def test_reproducible_and_seeded():
    y = make_ar_process([0.5], 2000, random_state=6)
    a = ARNet(4, n_epochs=3, device="cpu", random_state=1).fit(y).coef_
    b = ARNet(4, n_epochs=3, device="cpu", random_state=1).fit(y).coef_
    c = ARNet(4, n_epochs=3, device="cpu", random_state=2).fit(y).coef_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("params", [{"trend": "n"}, {"loss": "huber"}, {"dtype": "float32"},
                                    {"reg_scale": 0.02, "sparsity": 0.5}])  # fmt: skip
def test_options_still_fit(params):
    y = make_ar_process([0.5, -0.3], 10_000, random_state=7)
    net = ARNet(2, n_epochs=10, device="cpu", random_state=0, **params).fit(y)
    np.testing.assert_allclose(net.coef_, [0.5, -0.3], atol=0.05)
    if params.get("trend") == "n":
        assert net.intercept_ == 0.0


def test_embedding_form_agrees_with_series_form():
    y = make_ar_process([0.4, 0.2], 8000, random_state=8)
    X = np.lib.stride_tricks.sliding_window_view(y, 3)[:, :2][:, ::-1]
    series = ARNet(2, n_epochs=10, device="cpu", random_state=0).fit(y)
    embedding = ARNet(2, n_epochs=10, device="cpu", random_state=0).fit(X, y[2:])
    np.testing.assert_allclose(embedding.coef_, series.coef_, atol=2e-3)
    assert embedding.last_window_ is None
    np.testing.assert_allclose(embedding.predict(X), series.predict(y)[2:], atol=0.02)


def test_device_errors():
    y = make_ar_process([0.5], 500, random_state=9)
    with pytest.raises(ValueError, match="not a torch device"):
        ARNet(2, device="no-such-device").fit(y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            ARNet(2, device="cuda").fit(y)
        assert ARNet(2, n_epochs=1, random_state=0).fit(y).device_ == "cpu"


def test_a_fitted_arnet_unpickles_and_predicts_without_torch(tmp_path):
    y = make_ar_process([0.5, -0.2], 300, random_state=0)
    net = ARNet(2, n_epochs=5, device="cpu", random_state=0).fit(y)
    path = tmp_path / "net.pkl"
    path.write_bytes(pickle.dumps((net, y)))
    code = (
        "import builtins, json, pickle, sys\n"
        "real_import = builtins.__import__\n"
        "def no_torch(name, *args, **kwargs):\n"
        "    if name.split('.')[0] == 'torch':\n"
        "        raise ImportError('torch is blocked')\n"
        "    return real_import(name, *args, **kwargs)\n"
        "builtins.__import__ = no_torch\n"
        f"net, y = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "print(json.dumps([net.predict(y)[2:].tolist(), net.device_, 'torch' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    predicted, device, imported = json.loads(out)
    np.testing.assert_array_equal(predicted, net.predict(y)[2:])
    assert (device, imported) == ("cpu", False)


def test_series_errors():
    with pytest.raises(ValueError, match="needs at least"):
        ARNet(10).fit(np.arange(11.0))
    with pytest.raises(ValueError, match="constant"):
        ARNet(2).fit(np.ones(50))
    gappy = np.tile([1.0, 2.0, np.nan], 20)
    with pytest.raises(ValueError, match="windows"):
        ARNet(3).fit(gappy)


def test_verbose_prints(capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    ARNet(1, n_epochs=2, verbose=True, device="cpu", random_state=0).fit(np.sin(np.arange(100.0)))
    assert "epoch 2/2" in capsys.readouterr().out

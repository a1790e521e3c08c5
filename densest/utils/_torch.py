"""Torch helpers shared by the torch families (torch is passed in, never imported here)."""

import math


def resolve_device(torch, device):
    """A torch.device: ``"auto"`` is CUDA when available, else the CPU.

    Parameters
    ----------
    torch : module
        The torch module.
    device : str or torch.device
        "auto", any torch device string, or a device.

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        If the string is not a device, or names CUDA where none is available.

    Examples
    --------
    >>> import torch
    >>> resolve_device(torch, "cpu")
    device(type='cpu')
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device: {exc}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available here.")
    return resolved


def progress_bar():
    """tqdm's ``tqdm.auto.tqdm`` when tqdm is installed, else None (no bar)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def cpu_state(state, name):
    """A copy of an estimator's ``__dict__`` with the torch module ``name`` moved to the CPU.

    For ``__getstate__``: the pickle then loads on a machine without the
    fitting device, and ``device_`` becomes the CPU.
    """
    state = state.copy()
    if name in state:
        import copy

        import torch

        state[name] = copy.deepcopy(state[name]).cpu()
        state["device_"] = torch.device("cpu")
    return state


def float64_copy(module):
    """A float64 copy of a torch module, for exact evaluation of a float32-trained model."""
    import copy

    return copy.deepcopy(module).double()


def make_mlp(torch, n_in, hidden, n_out):
    """A SiLU multilayer perceptron ``n_in -> hidden... -> n_out`` (no hidden layer: a linear map)."""
    layers, width = [], n_in
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.SiLU()]
        width = size
    layers.append(torch.nn.Linear(width, n_out))
    return torch.nn.Sequential(*layers)


def train_adam(torch, parameters, loss, y, *, max_iter, batch_size, learning_rate, seed, constant_fraction=0.0,
               noise=0.0, fresh=False, track=None, progress=None):  # fmt: skip
    """Adam on ``loss(batch, generator)`` over mini-batches of ``y`` drawn with replacement.

    The learning rate is constant for the first ``constant_fraction`` of the
    steps, then annealed by a cosine to 0. With ``fresh``, every batch gets
    new Gaussian noise of standard deviation ``noise``. Returns the per-step
    losses and, when ``track`` is given, the per-step values of ``track()``
    (lists, read once at the end so that the loop has no host
    synchronisation).
    """
    generator = torch.Generator(device=y.device).manual_seed(seed)
    optimizer = torch.optim.Adam(parameters, lr=learning_rate)
    losses = torch.empty(max_iter, device=y.device)
    tracked = torch.empty(max_iter if track else 0, device=y.device)
    n, warm = y.shape[0], int(constant_fraction * max_iter)
    steps = range(max_iter) if progress is None else progress(range(max_iter))
    for step in steps:
        angle = math.pi * max(step - warm, 0) / max(max_iter - warm, 1)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate * 0.5 * (1.0 + math.cos(angle))
        batch = y[torch.randint(0, n, (min(batch_size, n),), generator=generator, device=y.device)]
        if fresh:
            batch = batch + noise * torch.randn(batch.shape, generator=generator, device=y.device)
        value = loss(batch, generator)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        losses[step] = value.detach()
        if track:
            tracked[step] = track().detach()
    return losses.cpu().tolist(), tracked.cpu().tolist()

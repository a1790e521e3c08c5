"""Torch helpers shared by the torch families (torch is passed in, never imported here)."""


def resolve_device(torch, device):
    """A torch.device: ``"auto"`` is CUDA when available, else the CPU.

    Parameters
    ----------
    torch : module
        The torch module.
    device : str
        "auto" or any torch device string.

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

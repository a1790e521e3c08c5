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

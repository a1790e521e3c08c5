"""Import optional dependencies with an error that names the extra to install."""

import importlib


class MissingExtraError(ImportError):
    """An optional dependency of a densest family is not installed."""


def import_optional(module, extra):
    """Import ``module``, or raise an ImportError naming ``densest[extra]``.

    Parameters
    ----------
    module : str
        Dotted name of the module to import, e.g. ``"torch"``.
    extra : str
        The densest extra that installs it, e.g. ``"deep"``.

    Returns
    -------
    module : module
        The imported module.

    Examples
    --------
    >>> import_optional("numpy", "core").__name__
    'numpy'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module!r} is required for this part of densest but is not installed. "
            f'Install it with: pip install "densest[{extra}]"'
        ) from exc

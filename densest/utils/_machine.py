"""What CPU a benchmark ran on, for its printed header."""

import platform


def describe_cpu(cpuinfo="/proc/cpuinfo"):
    """The CPU's model name, family and model, and its widest vector extension.

    Reads ``cpuinfo`` where it exists (Linux); elsewhere falls back to
    :func:`platform.processor` or :func:`platform.machine`. Timings of the
    vectorised kernels differ by up to 3x between CPUs of one name (AVX2 against
    AVX-512), so benchmarks print this beside their results.

    Parameters
    ----------
    cpuinfo : str
        Path of the Linux CPU description.

    Returns
    -------
    description : str
        For example ``"AMD EPYC (family 26, model 2), AVX-512"``.

    Examples
    --------
    >>> isinstance(describe_cpu(), str)
    True
    """
    fields = {}
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        return platform.processor() or platform.machine()
    text = fields.get("model name", platform.machine())
    if "cpu family" in fields:
        text += f" (family {fields['cpu family']}, model {fields.get('model', '?')})"
    if "flags" in fields:  # x86 only
        flags = set(fields["flags"].split())
        text += ", AVX-512" if "avx512f" in flags else ", AVX2" if "avx2" in flags else ", no AVX2"
    return text

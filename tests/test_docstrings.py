"""Every docstring example in the package runs and prints what it shows, and every\nnumpydoc Parameters section names exactly the parameters of its signature."""

import doctest
import importlib
import inspect
import pkgutil
import warnings

import numpy as np
import pytest

import densest

# The command-line entry point runs the CLI on import; it has no examples.
SKIP = {"densest.__main__"}


def _module_names():
    names = ["densest"]
    for info in pkgutil.walk_packages(densest.__path__, prefix="densest."):
        if info.name not in SKIP:
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _module_names())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    n_examples = 0
    for test in finder.find(module, name, globs={"np": np, **vars(module)}):
        if test.filename and not test.filename.startswith(densest.__path__[0]):
            continue  # re-exported objects are tested in their own module
        n_examples += len(test.examples)
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {n_examples} examples failed in {name}"


def _documented_callables(module):
    """(label, object whose docstring documents, function whose signature counts) for
    the public functions, classes (their __init__) and methods defined in module."""
    for attr, obj in vars(module).items():
        if attr.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield attr, obj, obj
        elif inspect.isclass(obj):
            yield attr, obj, obj.__init__
            for method, func in vars(obj).items():
                if inspect.isfunction(func) and not method.startswith("_"):
                    yield f"{attr}.{method}", func, func


@pytest.mark.parametrize("name", _module_names())
def test_documented_parameters_match_the_signatures(name):
    # nn_bandwidth and auto_bandwidth once documented a progress parameter they did not take
    docscrape = pytest.importorskip("numpydoc.docscrape")
    wrong = []
    for label, documented_by, func in _documented_callables(importlib.import_module(name)):
        doc = inspect.getdoc(documented_by) or ""
        if "Parameters\n----------" not in doc:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpydoc warns about sections it does not know
            parsed = (docscrape.ClassDoc if inspect.isclass(documented_by) else docscrape.FunctionDoc)(documented_by)
        documented = {part.strip().lstrip("*") for entry in parsed["Parameters"] for part in entry.name.split(",")}
        actual = {p for p in inspect.signature(func).parameters if p not in ("self", "cls")}
        if documented != actual:
            wrong.append(f"{label}: documented {sorted(documented - actual)}, undocumented {sorted(actual - documented)}")
    assert not wrong, "\n".join(wrong)

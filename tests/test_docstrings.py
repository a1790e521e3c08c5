"""Every docstring example in the package runs and prints what it shows."""

import doctest
import importlib
import pkgutil

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

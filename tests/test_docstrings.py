"""Every docstring example runs and prints what it shows."""

import doctest
import importlib
import pkgutil

import pytest

import skxfer

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(skxfer.__path__, prefix="skxfer.")
    if info.name != "skxfer.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs={}):
        if test.lineno is None or not _defined_here(test, name):
            continue
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"


def _defined_here(test, module_name):
    # DocTestFinder also yields objects imported into a module; test each where it lives.
    return test.name.startswith(module_name)

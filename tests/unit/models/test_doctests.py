"""Run the examples in the docstrings of the model-side modules (they are part of the docs)."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from ghostcandle.domain import actions, normalisation
from ghostcandle.models import registry


@pytest.mark.parametrize("module", [actions, normalisation, registry])
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0

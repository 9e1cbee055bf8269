"""A pass over the whole log runs the cyclic garbage collector less often, then as before."""

import gc

import pytest

from queries.streaming import fewer_collections


def test_collections_are_fewer_inside_and_as_before_after() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        inside = gc.get_threshold()
    assert inside[0] >= 100_000 and inside[1:] == before[1:]
    assert gc.get_threshold() == before


def test_the_threshold_comes_back_when_the_pass_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("the database went away")
    assert gc.get_threshold() == before


def test_overlapping_passes_put_the_thresholds_back_only_when_the_last_one_ends() -> None:
    before = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert gc.get_threshold()[0] >= 100_000
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before

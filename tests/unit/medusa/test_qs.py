"""The query strings the js-sdk's ``qs`` encoder writes."""

from urllib.parse import parse_qsl

import pytest

from infra.medusa import qs


def parse(query: str) -> dict[str, object]:
    return qs.parse(parse_qsl(query, keep_blank_values=True))


def test_indexed_arrays_become_lists_in_index_order() -> None:
    assert parse("id%5B1%5D=b&id%5B0%5D=a") == {"id": ["a", "b"]}


def test_repeated_and_bracketless_arrays_are_lists_too() -> None:
    assert parse("id=a&id=b") == {"id": ["a", "b"]}
    assert parse("id[]=a&id[]=b") == {"id": ["a", "b"]}


def test_nested_keys_become_dicts() -> None:
    assert parse("variants[sku]=X&region_id=eu&fields=*variants.calculated_price") == {
        "variants": {"sku": "X"},
        "region_id": "eu",
        "fields": "*variants.calculated_price",
    }


@pytest.mark.parametrize(
    "query",
    ["a[b][c][d][e][f][g]=1", "id[1000]=x", "a=1&a[b]=2", "a]=1"],
)
def test_hostile_or_malformed_queries_are_refused(query: str) -> None:
    with pytest.raises(qs.QueryError):
        parse(query)


def test_too_many_parameters_are_refused() -> None:
    with pytest.raises(qs.QueryError):
        parse("&".join(f"k{i}=v" for i in range(qs.MAX_PARAMS + 1)))


def test_strings_reads_one_value_or_a_list() -> None:
    assert qs.strings(None) == []
    assert qs.strings("a") == ["a"]
    assert qs.strings(["a", "b"]) == ["a", "b"]
    with pytest.raises(qs.QueryError):
        qs.strings({"x": "y"})

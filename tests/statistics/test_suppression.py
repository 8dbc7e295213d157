"""Primary and complementary suppression on tables with margins (pure; no database)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.statistics.suppression import Group, suppress


def table(rows: list[list[int]]) -> tuple[dict[tuple[int, int], int], list[Group[tuple[int, int]]]]:
    """A grid with a total column (-1), a total row (-1) and the grand total (-1, -1)."""
    cells = {(r, c): v for r, row in enumerate(rows) for c, v in enumerate(row)}
    width = len(rows[0])
    for r, row in enumerate(rows):
        cells[(r, -1)] = sum(row)
    for c in [*range(width), -1]:
        cells[(-1, c)] = sum(cells[(r, c)] for r in range(len(rows)))
    groups = [Group((r, -1), [(r, c) for c in range(width)]) for r in [*range(len(rows)), -1]]
    groups += [Group((-1, c), [(r, c) for r in range(len(rows))]) for c in [*range(width), -1]]
    return cells, groups


def test_cells_below_five_are_hidden_zeros_included() -> None:
    cells = {"a": 0, "b": 4, "c": 5, "d": 12}
    assert suppress(cells, []) == {"a", "b"}


def test_a_lone_small_cell_gets_a_complement_so_the_total_does_not_give_it_away() -> None:
    cells = {"total": 20, "small": 3, "mid": 7, "big": 10}
    hidden = suppress(cells, [Group("total", ["small", "mid", "big"])])
    assert hidden == {"small", "mid"}  # the smallest other cell covers it


def test_a_hidden_zero_is_no_cover() -> None:
    # An attacker who knows the region is empty learns "small" from total - big.
    cells = {"total": 13, "small": 3, "empty": 0, "big": 10}
    hidden = suppress(cells, [Group("total", ["small", "empty", "big"])])
    assert {"small", "big"} <= hidden


def test_two_small_cells_cover_each_other() -> None:
    cells = {"total": 17, "a": 3, "b": 4, "c": 10}
    assert suppress(cells, [Group("total", ["a", "b", "c"])]) == {"a", "b"}


def test_complements_chain_through_rows_and_columns() -> None:
    cells, groups = table([[3, 10, 12], [8, 9, 20]])
    hidden = suppress(cells, groups)
    assert (0, 0) in hidden
    # Column 0 needs a second hidden cell, and so does whichever row that lands in.
    assert (1, 0) in hidden
    assert sum(1 for key in hidden if key[0] == 1 and cells[key] > 0) >= 2


grids = st.integers(min_value=1, max_value=5).flatmap(
    lambda width: st.lists(
        st.lists(st.integers(min_value=0, max_value=30), min_size=width, max_size=width),
        min_size=1,
        max_size=5,
    )
)


@given(grids)
def test_no_hidden_cell_is_ever_the_only_unknown_of_a_sum(rows: list[list[int]]) -> None:
    cells, groups = table(rows)
    hidden = suppress(cells, groups)
    assert all(cells[key] >= 5 for key in cells.keys() - hidden)
    for group in groups:
        members = [group.total, *group.parts]
        exposed = [k for k in members if k in hidden and cells[k] > 0]
        published = [k for k in members if k not in hidden and cells[k] > 0]
        # Either nothing non-zero is hidden here, or at least two are, or nothing is left
        # to hide them with (then every non-zero member is hidden).
        assert len(exposed) != 1 or not published

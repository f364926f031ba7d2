import pytest

from paginator.pages import PageNotFound, page_count, page_links, paginate


def test_exact_pages():
    assert page_count(20, 10) == 2


def test_empty_listing_has_one_page():
    page = paginate([], 1)
    assert page.items == [] and page.total_pages == 1


def test_partial_last_page():
    items = list(range(25))
    last = paginate(items, 3)
    assert last.items == [20, 21, 22, 23, 24]
    assert last.total_pages == 3
    assert not last.has_next


def test_first_page():
    page = paginate(list(range(25)), 1)
    assert page.items == list(range(10))
    assert page.has_next and not page.has_previous


def test_page_out_of_range():
    with pytest.raises(PageNotFound):
        paginate(list(range(5)), 0)
    with pytest.raises(PageNotFound):
        paginate(list(range(5)), 2)


def test_page_links():
    assert page_links(1, 10) == [1, 2, 3]
    assert page_links(5, 6) == [3, 4, 5, 6]

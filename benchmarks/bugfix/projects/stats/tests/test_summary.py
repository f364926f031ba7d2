import pytest

from stats.summary import EmptySample, Summary, mean, median, percentile, summarize


def test_mean():
    assert mean([1, 2, 3, 4]) == 2.5


def test_median_odd():
    assert median([5, 1, 3]) == 3


def test_median_even():
    assert median([4, 1, 3, 2]) == 2.5


def test_percentile_nearest_rank():
    values = [15, 20, 35, 40, 50]
    assert percentile(values, 30) == 20
    assert percentile(values, 100) == 50


def test_percentile_bad_p():
    with pytest.raises(ValueError):
        percentile([1], 0)


@pytest.mark.parametrize("function", [mean, median])
def test_empty(function):
    with pytest.raises(EmptySample):
        function([])


def test_summarize():
    assert summarize([10, 20, 30, 40]) == Summary(4, 25.0, 25.0, 40, 40)

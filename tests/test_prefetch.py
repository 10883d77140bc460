"""prefetched(): a producer one step ahead on a second thread."""
import threading
import time

import pytest

from inventory_tools.prefetch import prefetched


def test_items_arrive_in_order_and_are_made_on_another_thread():
    made_on = []

    def items():
        for i in range(50):
            made_on.append(threading.current_thread().name)
            yield i

    assert list(prefetched(items())) == list(range(50))
    assert set(made_on) == {"prefetch"}


def test_an_error_reaches_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("disk gone")

    got = []
    with pytest.raises(ValueError, match="disk gone"):
        for item in prefetched(items()):
            got.append(item)
    assert got == [1, 2]


def test_a_consumer_that_stops_early_stops_the_producer():
    produced = []

    def items():
        for i in range(1_000):
            produced.append(i)
            time.sleep(0.001)
            yield i

    for item in prefetched(items(), depth=2):
        if item == 3:
            break
    time.sleep(0.05)
    assert len(produced) < 10  # at most a few ahead, then it stopped
    assert not any(t.name == "prefetch" for t in threading.enumerate())

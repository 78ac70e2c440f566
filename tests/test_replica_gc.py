"""The collector pause around snapshot work: nested and overlapping pauses (the client prepares
in one thread while another applies) leave the collector as it was found, never switched on
when someone else had switched it off."""

from __future__ import annotations

import gc
import threading

from sync.replica_gc import gc_paused


def test_pauses_nest_and_overlap_across_threads_and_restore_the_collector() -> None:
    assert gc.isenabled()
    inner_done = threading.Event()
    outer_may_end = threading.Event()

    def other_thread() -> None:
        with gc_paused():
            assert not gc.isenabled()
            outer_may_end.set()
            inner_done.wait(5)
        # this thread's pause ended last: the collector runs again

    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
        worker = threading.Thread(target=other_thread)
        worker.start()
        assert outer_may_end.wait(5)
    assert not gc.isenabled()  # the other thread's pause still holds
    inner_done.set()
    worker.join(5)
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_application_stays_off() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_exception_inside_still_ends_the_pause() -> None:
    try:
        with gc_paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()

"""Tests of ``latentsky hunt``: labels stored, queue re-ranked, undo, bad input."""

from __future__ import annotations

from explorer.store import Store
from explorer.store.annotations import Annotations


def test_label_next_and_undo(analysed_store_copy, latentsky_cli):
    store = Store.open(analysed_store_copy)
    first = latentsky_cli("hunt", analysed_store_copy, "--next", "3")
    assert first.code == 0, first.stderr
    top = int(first.stdout.split()[4])  # header: id relevance uncertainty prior

    done = latentsky_cli(
        "hunt", analysed_store_copy, "--label", "artefact", str(top), "--next", "3"
    )
    assert done.code == 0, done.stderr
    assert "tagged 1 source(s) artefact" in done.stdout
    notes = Annotations.of_store(store)
    assert notes.tag_of([top]).tolist() == ["artefact"]
    queued = [int(line.split()[0]) for line in done.stdout.splitlines()[2:]]
    assert len(queued) == 3
    assert top not in queued

    undo = latentsky_cli("hunt", analysed_store_copy, "--undo")
    assert undo.code == 0, undo.stderr
    assert notes.tags().empty


def test_bad_label(analysed_store_copy, latentsky_cli, one_line_error):
    result = latentsky_cli("hunt", analysed_store_copy, "--label", "cool", "1")
    one_line_error(result, "hunt", "--label needs a tag")
    result = latentsky_cli("hunt", analysed_store_copy, "--label", "boring", "-5")
    one_line_error(result, "hunt", "source id -5 is not in")

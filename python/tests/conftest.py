"""Puts the package directory on sys.path (scripts/build-bindings fills it) and gives each test
a fresh temporary store."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import minga  # noqa: E402

KEY = bytes(range(32))


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "field.minga")


@pytest.fixture
def store(store_path):
    opened = minga.Store.open(store_path, KEY, "phone-1", "ana")
    yield opened
    opened.close()


@pytest.fixture
def form():
    return minga.FormRef(form_id="safety_walk", form_version="1", project_id=None)

"""Gives each test a fresh temporary store. The suite runs against the installed `minga` package
(scripts/test-bindings installs the wheel into a venv); only this folder goes on sys.path, for
the helpers the tests share (hub.py, test_readme.py), never the source folder python/minga."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

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

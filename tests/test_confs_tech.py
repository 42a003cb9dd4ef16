"""The `confs_tech` kind: tech-conferences conference-data files, both schemas."""

from __future__ import annotations

from datetime import date

import pytest

from aggregator.errors import SourceError
from sources import confs_tech
from tests.conftest import fixture_bytes, make_ctx

URL = "https://raw.githubusercontent.com/tech-conferences/conference-data/main/conferences/2027/python.json"


def test_current_schema_with_cfp_online_and_topic():
    warnings: list[str] = []
    events = {e.title: e for e in confs_tech.parse(fixture_bytes("json/confs_2026_python_current_schema.json"), URL,
                                                   ctx=make_ctx(warnings=warnings))}
    assert set(events) == {"PyCascades", "Python Web Conf"}
    py = events["PyCascades"]
    assert py.all_day and py.start == date(2027, 2, 20) and py.end == date(2027, 2, 23)  # end exclusive
    assert py.venue.name == "Portland, OR, U.S.A." and not py.online
    assert py.tags == ("python",)
    assert "Call for papers (closes 2026-11-20): https://pretalx.com/pycascades-2027/cfp" in py.description
    assert events["Python Web Conf"].online
    assert any("Broken entry" in w for w in warnings)


def test_legacy_schema():
    events = confs_tech.parse(fixture_bytes("json/confs_2018_general_legacy_schema.json"),
                              "https://x.org/conferences/2018/general.json", ctx=make_ctx())
    assert [e.title for e in events] == ["CodeMash", "Beyond Tellerrand"]
    assert events[0].tags == ("general",) and events[0].url == "https://www.codemash.org"


def test_not_json():
    with pytest.raises(SourceError, match="not conference-data JSON"):
        confs_tech.parse(b"<html></html>", URL, ctx=make_ctx())


def test_a_file_of_conferences_none_of_which_has_a_start_is_a_shortfall():
    ctx = make_ctx()
    data = b'[{"name": "PyCon", "startDate": "soon"}, {"name": "RustConf"}, {"name": "Ok", "startDate": "2027-05-01"}]'
    assert [e.title for e in confs_tech.parse(data, URL, ctx=ctx)] == ["Ok"]
    assert ctx.shortfall() == "the input held 3 conferences; only 1 was read"

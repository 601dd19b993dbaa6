"""Rosters: Classroom 50's roster.csv, a plain CSV, and the errors a bad one gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.core.config import ConfigError, Course, RosterEntry
from grader.instructor.roster import load_roster, read_csv

TIER = "pure"  # what its tests need (tests/conftest.py)


def test_classroom50_roster_skips_staff(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("username,first_name,last_name,email,section,github_id,role\n"
                    "Ada-L,Ada,Lovelace,ada@x.edu,A,1,student\n"
                    "tess,Tess,Ta,t@x.edu,,2,ta\n"
                    "bob,,,,,0,\n")
    ada, bob = read_csv(path=path)
    assert (ada.id, ada.login, ada.name, ada.section, ada.email) == (
        "Ada-L", "ada-l", "Ada Lovelace", "A", "ada@x.edu")  # repository names are lowercase
    assert (bob.id, bob.login, bob.name) == ("bob", "bob", "")


def test_plain_roster_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "class.csv"
    path.write_text("\ufeffid,github,name,section\ns1,ann-gh,Ann,B\n")
    (s1,) = read_csv(path=path)
    assert (s1.id, s1.login, s1.name, s1.section) == ("s1", "ann-gh", "Ann", "B")
    path.write_text("id,name\ns1,Ann\ns1,Again\n")
    with pytest.raises(ConfigError, match="class.csv:3: student 's1' is listed twice"):
        read_csv(path=path)
    path.write_text("id,name\n../x,Evil\n")
    with pytest.raises(ConfigError, match="class.csv:2: id: '../x' is invalid: expected a student"):
        read_csv(path=path)
    path.write_text("id,username\ns2,--upload-pack=touch /tmp/x\n")
    with pytest.raises(ConfigError, match="csv:2: username: '--upload-pack.* a login"):
        read_csv(path=path)


def test_the_course_roster(course: Course) -> None:
    ids = [r.id for r in load_roster(course=course)]
    assert ids == ["ada", "bob", "carol", "dave", "erin", "frank"]


def test_typos_in_the_class_list_are_errors(course: Course, tmp_path: Path) -> None:
    path = tmp_path / "class.csv"
    path.write_text("id,username\n\ns1,ann\n\ns2,Bob\ns1,again\n")  # blank lines counted
    with pytest.raises(ConfigError, match="class.csv:6: student 's1' is listed twice"):
        read_csv(path=path)
    path.write_text("id,username\ns1,bob\ns2,Bob\n")
    with pytest.raises(ConfigError, match=r"class.csv:3: username 'Bob' is also s1's \(line 2\)"):
        read_csv(path=path)
    path.write_text("id;username;name\ns1;ann;Ann\n")
    with pytest.raises(ConfigError, match=r"class.csv:1: .*separated by ';'.*comma"):
        read_csv(path=path)
    inline = course.model_copy(update={"roster": [RosterEntry(id="s1", username="Bob"),
                                                  RosterEntry(id="s2", username="bob")]})
    with pytest.raises(ConfigError, match=r"roster\[1\]: username 'bob' is also s1's"):
        load_roster(course=inline)


def test_an_extension_for_someone_not_on_the_roster_is_an_error(course: Course) -> None:
    entry = course.assignments["echo"].model_copy(update={"extensions": {"carll": 2}})
    c = course.model_copy(update={"assignments": {**course.assignments, "echo": entry}})
    with pytest.raises(ConfigError, match=r"grading.yml: assignments.echo.extensions.carll: "
                                          r"'carll' is not on the roster.*did you mean 'carol'"):
        load_roster(course=c)


def test_lms_ids_from_the_roster(tmp_path: Path) -> None:
    """The ids canvas.csv needs, in a plain roster or spelled as Canvas's own export."""
    path = tmp_path / "class.csv"
    path.write_text("id,username,canvas_id,sis_user_id,sis_login_id\ns1,ann,9001,U1,ann@x\n")
    (s1,) = read_csv(path=path)
    assert (s1.canvas_id, s1.sis_user_id, s1.sis_login_id) == ("9001", "U1", "ann@x")
    path.write_text("username,SIS User ID,SIS Login ID\nann,U1,ann@x\n")
    (s1,) = read_csv(path=path)
    assert (s1.canvas_id, s1.sis_user_id, s1.sis_login_id) == ("", "U1", "ann@x")
    path.write_text("id,canvas_id\ns1,Ann Lee\n")
    with pytest.raises(ConfigError, match="class.csv:2: canvas_id: 'Ann Lee' is invalid: "
                                          "expected Canvas's numeric user id"):
        read_csv(path=path)

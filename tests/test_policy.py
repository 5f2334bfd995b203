"""Policy defaults and loading from preflight.toml, pyproject.toml and --config."""

import pytest

from preflight.errors import UsageError
from preflight.policy import Policy, load_policy


def test_defaults_follow_the_design():
    p = Policy()
    assert (p.duration.min_s, p.duration.max_s) == (4.0, 15.0)
    assert (p.resolution.warn_below, p.resolution.fail_below) == (480, 240)
    assert p.speech.min_ratio == 0.5 and p.faces.size_warn_below == 0.15


def test_defaults_without_any_file(tmp_path):
    assert load_policy(start=tmp_path) == Policy()


def test_preflight_toml_in_a_parent(tmp_path):
    (tmp_path / "preflight.toml").write_text("strict = true\n[speech]\nmin_ratio = 0.7\n")
    child = tmp_path / "a" / "b"
    child.mkdir(parents=True)
    p = load_policy(start=child)
    assert p.strict and p.speech.min_ratio == 0.7
    assert p.duration == Policy().duration


def test_pyproject_tool_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.preflight.duration]\nmax_s = 10\n')
    assert load_policy(start=tmp_path).duration.max_s == 10


def test_pyproject_without_our_table_is_ignored(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_policy(start=tmp_path) == Policy()


@pytest.mark.parametrize(
    "text", ["[duration]\nmax_seconds = 3\n", "[duration]\nmax_s = -1\n", "not toml [", "[speech]\nmin_ratio = 'x'\n"]
)
def test_bad_files_are_usage_errors(tmp_path, text):
    config = tmp_path / "p.toml"
    config.write_text(text)
    with pytest.raises(UsageError):
        load_policy(config)


def test_missing_config_file(tmp_path):
    with pytest.raises(UsageError, match="cannot read"):
        load_policy(tmp_path / "absent.toml")


def test_a_policy_file_that_is_not_utf8_is_one_clear_error(tmp_path):
    bad = tmp_path / "b.toml"
    bad.write_bytes(b"\xff\xfe[duration]\n")
    with pytest.raises(UsageError, match="UTF-8"):
        load_policy(bad)


@pytest.mark.parametrize("text, keys", [
    ("[duration]\nmin_s = 10\nmax_s = 5\n", "min_s"),
    ("[resolution]\nwarn_below = 100\nfail_below = 200\n", "fail_below"),
    ("[noise]\nwarn_below_db = 5\nfail_below_db = 10\n", "fail_below_db"),
])
def test_contradictory_limits_are_refused_naming_the_keys(tmp_path, text, keys):
    config = tmp_path / "p.toml"
    config.write_text(text)
    with pytest.raises(UsageError, match=keys):
        load_policy(config)


def test_the_example_in_the_policy_docstring_loads(tmp_path):
    # a documented example must be one the loader accepts
    import textwrap

    import preflight.policy as module

    example = textwrap.dedent(module.__doc__.split("::\n", 1)[1])
    (tmp_path / "preflight.toml").write_text(example)
    policy = load_policy(start=tmp_path)
    assert policy.duration.max_s == 12.0 and policy.faces.none_max_ratio == 0.1

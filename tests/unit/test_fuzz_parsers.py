"""Property tests: every parser of user input answers with a value or its own clear error, never a crash."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdash import config
from kdash.actions.apply import parse_manifests
from kdash.actions.image import InvalidImage, parse_image
from kdash.actions.scale import MAX_REPLICAS, parse_replicas
from kdash.core.labels import parse_selector
from kdash.errors import KdashError
from kdash.kube.kubeconfig import load_merged_kubeconfig
from kdash.logs.stream import split_timestamp
from kdash.logs.text import find_spans, sanitize

# Deterministic and quick: CI must not find a new example on a random day.
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

YAML_ALPHABET = string.ascii_letters + string.digits + " \t\n:-{}[],'\"#&*!|>%@`?=~.\\/"
yamlish = st.text(alphabet=YAML_ALPHABET, max_size=300)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=20))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=15)


def _one_message(exc: KdashError) -> None:
    assert exc.title and exc.message
    assert "Traceback" not in exc.message


@FUZZ
@given(st.one_of(yamlish, st.text(max_size=300)))
def test_apply_parser_on_any_text(text):
    try:
        manifests = parse_manifests(text, "f.yaml")
    except KdashError as exc:
        _one_message(exc)
        assert exc.message.startswith("f.yaml")
        return
    for manifest in manifests:
        assert manifest.kind and manifest.api_version and manifest.name


@FUZZ
@given(st.lists(documents, min_size=1, max_size=3))
def test_apply_parser_on_any_yaml_documents(docs):
    text = yaml.safe_dump_all(docs)
    try:
        parse_manifests(text, "f.yaml")
    except KdashError as exc:
        _one_message(exc)


@FUZZ
@given(st.fixed_dictionaries({"apiVersion": st.sampled_from(["v1", "apps/v1"]),
                              "kind": st.sampled_from(["ConfigMap", "Deployment"]),
                              "metadata": st.fixed_dictionaries({"name": st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)})}))
def test_valid_objects_round_trip(doc):
    [manifest] = parse_manifests(yaml.safe_dump(doc), "f.yaml")
    assert (manifest.kind, manifest.name) == (doc["kind"], doc["metadata"]["name"])


@FUZZ
@given(st.text(max_size=30))
def test_replicas_parser(text):
    try:
        value = parse_replicas(text)
    except KdashError as exc:
        _one_message(exc)
        return
    assert 0 <= value <= MAX_REPLICAS


@FUZZ
@given(st.integers(min_value=0, max_value=MAX_REPLICAS))
def test_replicas_in_range_are_accepted(number):
    assert parse_replicas(f" {number} ") == number


@FUZZ
@given(st.text(max_size=80))
def test_image_parser_on_any_text(text):
    try:
        image = parse_image(text)
    except InvalidImage as exc:
        _one_message(exc)
        return
    assert image == text.strip() and image and not any(c.isspace() for c in image)


_component = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=8)
_tag = st.text(alphabet=string.ascii_letters + string.digits + "_.-", max_size=20).map(lambda t: "v" + t)
image_references = st.builds(
    lambda host, path, tag: "/".join(([f"{host}.example.com:5000"] if host else []) + path) + (f":{tag}" if tag else ""),
    st.one_of(st.none(), _component), st.lists(_component, min_size=1, max_size=3), st.one_of(st.none(), _tag))


@FUZZ
@given(image_references)
def test_valid_image_references_are_accepted(ref):
    assert parse_image(ref) == ref


@FUZZ
@given(st.text(max_size=60))
def test_label_selector_parser(text):
    try:
        selector = parse_selector(text)
    except ValueError as exc:
        assert str(exc)
        return
    assert selector is not None


@FUZZ
@given(st.text(max_size=200), st.text(max_size=10))
def test_log_text_helpers(line, pattern):
    stamp, body = split_timestamp(line)
    assert body in line
    clean = sanitize(body)
    assert "\x1b" not in clean
    for start, end in find_spans(clean, pattern):
        assert 0 <= start < end <= len(clean)


@FUZZ
@given(st.one_of(yamlish, st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_settings_file_with_any_content_falls_back(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("settings") / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = config.load_settings(path)
    assert isinstance(loaded.theme, str) and isinstance(loaded.keymap, dict)
    assert isinstance(loaded.log_buffer_lines, int) and loaded.log_buffer_lines > 0
    assert all(isinstance(w, str) and "\n" not in w for w in loaded.warnings)


@FUZZ
@given(st.one_of(yamlish, st.dictionaries(st.text(max_size=8), documents, max_size=5).map(yaml.safe_dump)))
def test_kubeconfig_with_any_content_is_a_clear_error_or_a_config(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(text, encoding="utf-8")
    try:
        load_merged_kubeconfig(str(path))
    except KdashError as exc:
        _one_message(exc)


# -- named bad inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "fragment"), [
    ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n", "line 4"),
    ("apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: x}\n", "line 3"),
    ("kind: ConfigMap\nmetadata: {name: x}\n", "apiVersion"),
    ("apiVersion: v1\nmetadata: {name: x}\n", "kind"),
    ("apiVersion: v1\nkind: ConfigMap\n", "missing metadata"),
    ("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap}\n", "item 1"),
    ("- just\n- a list\n", "document 1"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n: : :\n", "document 2"),
], ids=["tab", "duplicate key", "no apiVersion", "no kind", "no name", "bad List item", "not a mapping",
        "second doc malformed"])
def test_named_bad_manifests_get_a_message_that_points_at_the_problem(text, fragment):
    with pytest.raises(KdashError) as raised:
        parse_manifests(text, "f.yaml")
    assert fragment in raised.value.message


@pytest.mark.parametrize("text", ["", "---\n", "---\n---\n", "# only a comment\n"])
def test_empty_files_hold_no_objects(text):
    assert parse_manifests(text, "f.yaml") == []


def test_manifest_files_too_big_binary_missing_or_a_directory(tmp_path):
    from kdash.screens.edit_apply import read_manifest_file

    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"# x\n" * (2 * 1024 * 1024))  # 8 MiB
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    cases = {huge: "File too large", binary: "Not a text file", tmp_path / "nope.yaml": "File not found",
             tmp_path: "Not a file"}
    for path, title in cases.items():
        with pytest.raises(KdashError) as raised:
            read_manifest_file(path)
        assert raised.value.title == title


def test_a_large_valid_file_parses_in_linear_time(tmp_path):
    import time

    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\ndata: {k: v}\n"
    text = "---\n".join(doc % i for i in range(2000))  # ~130 KB, 2,000 objects
    started = time.monotonic()
    assert len(parse_manifests(text, "big.yaml")) == 2000
    assert time.monotonic() - started < 20  # ~1 s here; a quadratic parser would take minutes


def test_a_broken_user_theme_is_skipped_with_one_warning(tmp_path, monkeypatch):
    themes = tmp_path / "kdash" / "themes"
    themes.mkdir(parents=True)
    (themes / "bad-field.yaml").write_text("name: bad-field\nprimary: '#123456'\ncolour: red\n")
    (themes / "bad-colour.yaml").write_text("name: bad-colour\nprimary: notacolour\n")
    (themes / "not-yaml.yaml").write_text("name: [\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    from tests.ui.fixture_app import fixture_app

    app = fixture_app()
    warnings = app._startup_warnings
    assert {"bad-field", "bad-colour"}.isdisjoint(app._themes)
    assert sum("bad-field" in w for w in warnings) == 1
    assert sum("bad-colour" in w for w in warnings) == 1
    assert sum("skipped" in w for w in warnings) == 3
    assert any("not-yaml.yaml" in w for w in warnings)
    assert app.theme == config.DEFAULT_THEME


def test_fixture_themes_dir_is_clean():
    # The bundled themes must all load: a bad one would only show as a warning at start-up.
    themes, warnings = config.load_themes()
    assert warnings == [] and {"kdash-dark", "kdash-light", "kdash-mono"} <= set(themes)
    assert Path(config.__file__).exists()

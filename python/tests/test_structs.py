"""The ctypes structs mirror include/clattn.h: every size and field offset as the C compiler
lays them out (a small C program compiled against the header prints them)."""

import ctypes
import os
import shutil
import subprocess

import pytest

import clattn
from clattn import _structs

HERE = os.path.dirname(os.path.abspath(__file__))


def header_dir():
    """The header the wheel ships (clattn/include), else the repository's."""
    for path in (os.path.join(os.path.dirname(clattn.__file__), "include"),
                 os.path.join(HERE, "..", "..", "include")):
        if os.path.exists(os.path.join(path, "clattn.h")):
            return path
    pytest.fail("clattn.h not found beside the package or in the repository")


def c_layouts(tmp_path):
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    assert cc, "a C compiler is needed to check the struct layouts"
    lines = ["#include <clattn.h>", "#include <stddef.h>", "#include <stdio.h>",
             "int main(void) {"]
    for cname, struct in _structs.ALL.items():
        lines.append(f'printf("{cname} sizeof %zu\\n", sizeof({cname}));')
        for field, _ in struct._fields_:
            lines.append(f'printf("{cname} {field} %zu\\n", offsetof({cname}, {field}));')
    lines += ["return 0;", "}"]
    src = tmp_path / "layouts.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layouts"
    subprocess.run([cc, "-std=c11", "-I", header_dir(), str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return {(s, f): int(v) for s, f, v in (line.split() for line in out.splitlines())}


def test_struct_sizes_and_offsets_match_the_header(tmp_path):
    c = c_layouts(tmp_path)
    checked = 0
    for cname, struct in _structs.ALL.items():
        assert ctypes.sizeof(struct) == c[(cname, "sizeof")], cname
        for field, _ in struct._fields_:
            assert getattr(struct, field).offset == c[(cname, field)], f"{cname}.{field}"
            checked += 1
    assert checked > 80


def test_no_header_struct_is_left_unmirrored():
    """Every typedef struct of the public header with fields has its mirror here."""
    text = open(os.path.join(header_dir(), "clattn.h")).read()
    import re
    names = set(re.findall(r"typedef struct (clattn_\w+) \{", text))
    names -= {"clattn_op_shape"}  # only for clattn_op_scratch_size, not bound
    assert names <= set(_structs.ALL), sorted(names - set(_structs.ALL))

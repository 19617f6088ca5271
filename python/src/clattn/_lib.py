"""Loads libclattn and declares the prototypes of the functions the package calls.

The library is the one the wheel bundles beside this file (libclattn.so); CLATTN_LIBRARY may
name another (e.g. build/libclattn.so of a development build).
"""

import ctypes as C
import os

from . import _structs as S

P = C.c_void_p
SZ = C.c_size_t
ST = C.c_int  # clattn_status
F = C.c_float
U = C.c_uint
PEV = C.POINTER(C.c_void_p)  # cl_event * (wait lists, *done)


def _library_path():
    env = os.environ.get("CLATTN_LIBRARY")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "libclattn.so")


lib = C.CDLL(_library_path())

# name: (restype, argtypes)
_PROTOTYPES = {
    "clattn_version": (C.c_char_p, []),
    "clattn_status_string": (C.c_char_p, [ST]),
    "clattn_last_error_message": (C.c_char_p, []),
    "clattn_options_init": (None, [C.POINTER(S.Options)]),
    "clattn_handle_create": (ST, [C.POINTER(S.Options), C.POINTER(P)]),
    "clattn_handle_create_from": (ST, [P, P, P, C.POINTER(S.Options), C.POINTER(P)]),
    "clattn_handle_destroy": (None, [P]),
    "clattn_handle_context": (P, [P]),
    "clattn_handle_device": (P, [P]),
    "clattn_handle_queue": (P, [P]),
    "clattn_handle_device_name": (C.c_char_p, [P]),
    "clattn_handle_variant": (C.c_int, [P]),
    "clattn_build_log": (C.c_char_p, [P]),
    "clattn_handle_prepare": (ST, [P]),
    "clattn_list_devices": (ST, [C.POINTER(S.DeviceInfo), SZ, C.POINTER(SZ)]),
    "clattn_select_device": (ST, [C.c_char_p, C.POINTER(S.DeviceInfo)]),
    # query operations
    "clattn_enqueue_scores": (ST, [P, P, SZ, SZ, F, P, SZ, P, SZ, P, SZ, U, PEV, PEV]),
    "clattn_enqueue_normalize": (ST, [P, P, C.c_int, SZ, P, SZ, P, SZ, U, PEV, PEV]),
    "clattn_enqueue_context": (ST, [P, P, SZ, SZ, P, SZ, P, SZ, P, SZ, U, PEV, PEV]),
    "clattn_query_attention": (ST, [P, SZ, SZ, P, P, P, F, C.c_int, P, P, P]),
    "clattn_cpu_query_attention": (ST, [SZ, SZ, P, P, P, F, C.c_int, P, P, P]),
    "clattn_ref_scores": (ST, [SZ, SZ, F, P, P, P]),
    "clattn_ref_normalize": (ST, [C.c_int, SZ, P, P]),
    "clattn_ref_context": (ST, [SZ, SZ, P, P, P]),
    # attention
    "clattn_attention_desc_init": (None, [C.POINTER(S.AttentionDesc)] + [SZ] * 7),
    "clattn_attention_ex": (ST, [P, C.POINTER(S.AttentionDesc), C.POINTER(S.AttentionArrays)]),
    "clattn_cpu_attention_ex": (ST, [C.POINTER(S.AttentionDesc), C.POINTER(S.AttentionArrays)]),
    "clattn_ref_attention_ex": (ST, [C.POINTER(S.AttentionDesc), C.POINTER(S.AttentionArrays)]),
    "clattn_enqueue_attention_ex": (
        ST,
        [P, P, C.POINTER(S.AttentionDesc), C.POINTER(S.AttentionBuffers), U, PEV, PEV],
    ),
    "clattn_attention_weights": (ST, [P, C.POINTER(S.AttentionDesc), P, P, P, P]),
    "clattn_ref_attention_weights": (ST, [C.POINTER(S.AttentionDesc), P, P, P, P]),
    "clattn_enqueue_attention_weights": (
        ST,
        [P, P, C.POINTER(S.AttentionDesc), P, P, P, P, U, PEV, PEV],
    ),
    # paged KV cache append
    "clattn_kv_append": (ST, [P, C.POINTER(S.KvAppendDesc), P, P, P, P, P, P]),
    "clattn_ref_kv_append": (ST, [C.POINTER(S.KvAppendDesc), P, P, P, P, P, P]),
    "clattn_enqueue_kv_append": (
        ST,
        [P, P, C.POINTER(S.KvAppendDesc), P, P, P, P, P, P, U, PEV, PEV],
    ),
    # linear layer
    "clattn_linear": (ST, [P, SZ, SZ, SZ, P, P, P, P]),
    "clattn_cpu_linear": (ST, [SZ, SZ, SZ, P, P, P, P]),
    "clattn_ref_linear": (ST, [SZ, SZ, SZ, P, P, P, P]),
    "clattn_enqueue_linear": (
        ST,
        [P, P, SZ, SZ, SZ, P, SZ, SZ, P, SZ, SZ, P, SZ, P, SZ, SZ, U, PEV, PEV],
    ),
    # multi-head attention
    "clattn_mha_forward_masked": (
        ST,
        [P, C.POINTER(S.MhaDesc), C.POINTER(S.MhaWeights), P, P, P],
    ),
    "clattn_cpu_mha_forward_masked": (
        ST,
        [C.POINTER(S.MhaDesc), C.POINTER(S.MhaWeights), P, P, P],
    ),
    "clattn_ref_mha_forward_masked": (
        ST,
        [C.POINTER(S.MhaDesc), C.POINTER(S.MhaWeights), P, P, P],
    ),
    "clattn_enqueue_mha_forward_masked": (
        ST,
        [P, P, C.POINTER(S.MhaDesc), C.POINTER(S.MhaBuffers), P, P, P, U, PEV, PEV],
    ),
    # CPU backend threads
    "clattn_cpu_set_threads": (None, [U]),
    "clattn_cpu_threads": (U, []),
}

for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes


def text(raw):
    """A C string from the library as str ("" for NULL)."""
    return raw.decode("utf-8", "replace") if raw else ""

"""ctypes mirrors of the structs of include/clattn.h, field for field and in the same order.

tests/test_structs.py compiles a small C program against the header and checks every size
and offset here against the C compiler's, so a field added to the header without its mirror
fails the tests instead of shifting the fields after it. Enums are C ints (every value fits).
"""

import ctypes as C

size_t = C.c_size_t
c_enum = C.c_int
cl_handle = C.c_void_p  # cl_mem, cl_context, cl_device_id, cl_platform_id, ... (pointers)


class Options(C.Structure):
    _fields_ = [
        ("device", C.c_char_p),
        ("build_options", C.c_char_p),
        ("variant", c_enum),
        ("max_work_group_size", size_t),
        ("enable_profiling", C.c_int),
    ]


class DeviceInfo(C.Structure):
    _fields_ = [
        ("index", C.c_uint),
        ("platform_index", C.c_uint),
        ("device_index", C.c_uint),
        ("platform", cl_handle),
        ("device", cl_handle),
        ("type", C.c_uint64),  # cl_device_type (cl_bitfield = cl_ulong)
        ("is_default", C.c_int),
        ("name", C.c_char * 128),
        ("vendor", C.c_char * 128),
        ("platform_name", C.c_char * 128),
        ("version", C.c_char * 128),
    ]


class Layout(C.Structure):
    _fields_ = [("offset", size_t), ("stride", size_t * 3)]


class AttentionDesc(C.Structure):
    _fields_ = [
        ("batch", size_t),
        ("q_heads", size_t),
        ("kv_heads", size_t),
        ("m", size_t),
        ("n", size_t),
        ("d", size_t),
        ("dv", size_t),
        ("scale", C.c_float),
        ("norm", c_enum),
        ("causal", c_enum),
        ("mask_kind", c_enum),
        ("q", Layout),
        ("k", Layout),
        ("v", Layout),
        ("o", Layout),
        ("mask", Layout),
        ("lse", Layout),
        ("kv_splits", size_t),
        ("softcap", C.c_float),
        ("alibi", C.c_int),
        ("window", C.c_int),
        ("window_left", C.c_long),
        ("window_right", C.c_long),
        ("varlen", C.c_int),
        ("page_size", size_t),
        ("num_pages", size_t),
        ("max_pages", size_t),
        ("sinks", C.c_int),
        ("sink_keys", size_t),
        ("dropout", C.c_float),
        ("dropout_seed", C.c_uint64),
        ("dropout_offset", C.c_uint64),
        # storage types (clattn_dtype; 0 = float32: this binding passes float32 arrays)
        ("q_dtype", c_enum),
        ("k_dtype", c_enum),
        ("v_dtype", c_enum),
        ("o_dtype", c_enum),
        ("mask_dtype", c_enum),
    ]


# The tensors of one attention call: the same names in both structs.
TENSOR_FIELDS = (
    "q", "k", "v", "mask", "o", "lse", "sinks",
    "cu_seqlens_q", "cu_seqlens_k", "block_table", "seqlens_k",
)


class AttentionBuffers(C.Structure):
    _fields_ = [(name, cl_handle) for name in TENSOR_FIELDS]


class AttentionArrays(C.Structure):
    _fields_ = [(name, C.c_void_p) for name in TENSOR_FIELDS]


class MhaDesc(C.Structure):
    _fields_ = [
        ("batch", size_t),
        ("tokens", size_t),
        ("d_in", size_t),
        ("d_out", size_t),
        ("heads", size_t),
        ("causal", C.c_int),
        ("mask_kind", c_enum),
        ("mask_shape", c_enum),
        ("softcap", C.c_float),
        ("alibi", C.c_int),
        ("window", C.c_int),
        ("window_left", C.c_long),
        ("window_right", C.c_long),
        ("sink_keys", size_t),
        ("dropout", C.c_float),
        ("dropout_seed", C.c_uint64),
        ("dropout_offset", C.c_uint64),
        # storage types (clattn_dtype; 0 = float32: this binding passes float32 arrays)
        ("x_dtype", c_enum),
        ("weight_dtype", c_enum),
    ]


# clattn_linear_ex's storage types (not called by this binding; mirrored for completeness).
class LinearDtypes(C.Structure):
    _fields_ = [("x", c_enum), ("w", c_enum), ("bias", c_enum), ("y", c_enum)]


# The seed op's storage types (clattn_seed_dtypes; not called by this binding).
class SeedDtypes(C.Structure):
    _fields_ = [("x", c_enum), ("q", c_enum), ("v", c_enum)]


MHA_WEIGHT_FIELDS = ("wq", "wk", "wv", "wo", "bq", "bk", "bv", "bo", "sinks")


class MhaWeights(C.Structure):
    _fields_ = [(name, C.c_void_p) for name in MHA_WEIGHT_FIELDS]


class MhaBuffers(C.Structure):
    _fields_ = [(name, cl_handle) for name in MHA_WEIGHT_FIELDS]


class KvAppendDesc(C.Structure):
    _fields_ = [
        ("batch", size_t),
        ("kv_heads", size_t),
        ("tokens", size_t),
        ("d", size_t),
        ("dv", size_t),
        ("page_size", size_t),
        ("num_pages", size_t),
        ("max_pages", size_t),
        ("k_new", Layout),
        ("v_new", Layout),
        ("k_pages", Layout),
        ("v_pages", Layout),
    ]


# Every mirrored struct with its C name, for the layout test.
ALL = {
    "clattn_options": Options,
    "clattn_device_info": DeviceInfo,
    "clattn_layout": Layout,
    "clattn_attention_desc": AttentionDesc,
    "clattn_attention_buffers": AttentionBuffers,
    "clattn_attention_arrays": AttentionArrays,
    "clattn_linear_dtypes": LinearDtypes,
    "clattn_seed_dtypes": SeedDtypes,
    "clattn_mha_desc": MhaDesc,
    "clattn_mha_weights": MhaWeights,
    "clattn_mha_buffers": MhaBuffers,
    "clattn_kv_append_desc": KvAppendDesc,
}

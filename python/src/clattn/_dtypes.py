"""The element types clattn stores, and how NumPy arrays map onto them.

Every operation stores float32. The fused attention also stores float16 and bfloat16 (Q, K,
V, O and an additive mask, each its own type; float32 accumulation): an operand of such a type
is passed as it is, without a copy, and the library is told its type (the descriptor's dtype
codes, clattn_dtype). bfloat16 is ml_dtypes' type (NumPy has none): it is stored only when
ml_dtypes is installed (`pip install clattn[bfloat16]`). Any other float type becomes a
float32 copy.
"""

import numpy as np

try:  # bfloat16 arrays come from ml_dtypes (what JAX and PyTorch's NumPy bridge use)
    import ml_dtypes as _ml_dtypes
except ImportError:  # pragma: no cover - depends on the environment
    _ml_dtypes = None

from . import _errors


class StorageType:
    """One stored element type: its NumPy dtype and the library's code for it (None while the
    descriptor has no dtype field: float32 is implied)."""

    def __init__(self, name, dtype, code=None):
        self.name = name
        self.dtype = np.dtype(dtype)
        self.code = code

    def __repr__(self):
        return f"clattn.{self.name}"


float32 = StorageType("float32", np.float32, 0)  # CLATTN_F32
float16 = StorageType("float16", np.float16, 1)  # CLATTN_F16
bfloat16 = StorageType("bfloat16", _ml_dtypes.bfloat16, 2) if _ml_dtypes else None  # CLATTN_BF16

# dtype -> StorageType for every type every operation stores.
STORED = {float32.dtype: float32}

# ... and for the fused attention's tensors.
ATTENTION = {t.dtype: t for t in (float32, float16, bfloat16) if t is not None}

# What a float operand of a type the library does not store becomes (a converting copy).
DEFAULT = float32


def operand_type(dtype, name, stored=None):
    """The storage type for an operand of this dtype: its own when stored (stored: the
    operation's table, default STORED), float32 for other floating types; anything else is an
    error (integers, booleans, objects)."""
    dtype = np.dtype(dtype)
    stored = STORED if stored is None else stored
    if dtype in stored:
        return stored[dtype]
    # NumPy's kind 'f' covers float16/32/64/longdouble; bfloat16 (ml_dtypes) reports kind 'V'.
    if dtype.kind == "f" or dtype.name == "bfloat16":
        return DEFAULT
    _errors.fail(_errors.INVALID_VALUE,
                 f"{name}: dtype {dtype} is not a floating-point type (clattn stores "
                 f"{', '.join(t.name for t in STORED.values())})")


def mask_kind(dtype, name="mask"):
    """(mask kind, the dtype the mask is stored as) for a mask array: booleans and uint8 are a
    boolean mask (one byte, non-zero attends), floats an additive one (in its own type when
    the attention stores it, else float32)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_ or dtype == np.uint8:
        return 2, dtype  # CLATTN_MASK_BOOLEAN
    if dtype.kind == "f" or dtype in ATTENTION:
        return 1, operand_type(dtype, name, ATTENTION).dtype  # CLATTN_MASK_ADDITIVE
    _errors.fail(_errors.INVALID_VALUE,
                 f"{name}: dtype {dtype}: a mask is bool/uint8 (attend where true) or float "
                 "(added to the scores)")

"""The element types clattn stores, and how NumPy arrays map onto them.

Today the library stores float32 only. float16 and bfloat16 storage (being added to the C
library) join STORED with the code that tells the library the storage type; nothing else in
the package changes: operands already keep their dtype when it is stored and convert to
float32 (a copy) when it is a float type that is not.
"""

import numpy as np

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


float32 = StorageType("float32", np.float32)

# dtype -> StorageType for every type the library stores.
STORED = {float32.dtype: float32}

# What a float operand of a type the library does not store becomes (a converting copy).
DEFAULT = float32


def operand_type(dtype, name):
    """The storage type for an operand of this dtype: its own when stored, float32 for other
    floating types; anything else is an error (integers, booleans, objects)."""
    dtype = np.dtype(dtype)
    if dtype in STORED:
        return STORED[dtype]
    # NumPy's kind 'f' covers float16/32/64/longdouble; bfloat16 (ml_dtypes) reports kind 'V'.
    if dtype.kind == "f" or dtype.name == "bfloat16":
        return DEFAULT
    _errors.fail(_errors.INVALID_VALUE,
                 f"{name}: dtype {dtype} is not a floating-point type (clattn stores "
                 f"{', '.join(t.name for t in STORED.values())})")


def mask_kind(dtype, name="mask"):
    """(mask kind, the dtype the mask is stored as) for a mask array: booleans and uint8 are a
    boolean mask (one byte, non-zero attends), floats an additive one (float32)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_ or dtype == np.uint8:
        return 2, dtype  # CLATTN_MASK_BOOLEAN
    if dtype.kind == "f":
        return 1, np.dtype(np.float32)  # CLATTN_MASK_ADDITIVE
    _errors.fail(_errors.INVALID_VALUE,
                 f"{name}: dtype {dtype}: a mask is bool/uint8 (attend where true) or float "
                 "(added to the scores)")

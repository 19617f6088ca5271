"""The operations, each taking its backend first ("ref", "cpu" or a Handle): the package's
functions, Handle methods and clattn.ref / clattn.cpu are thin wrappers of these."""

from ._attention import attention, attention_weights  # noqa: F401
from ._kv_append import kv_append  # noqa: F401
from ._layers import linear, mha  # noqa: F401
from ._query import QueryResult, query_attention  # noqa: F401

"""Decoding platform replies into Structs, tolerant where the platform is loose.

The platform's JSON is not as tidy as its documentation: some examples send 19-digit ids as JSON
numbers, optional objects arrive as ``null``, flags arrive as ``0``/``1``. Decoding therefore goes
through plain Python objects first (msgspec keeps big integers exact — never a float) and a pass
guided by the target type that

* turns an integer into a string where the Struct expects a string (ids stay exact strings),
* drops a ``null`` where the Struct field cannot hold ``None`` (the field's default applies, as if
  the platform had omitted it),
* turns ``0``/``1`` into ``False``/``True`` where the Struct expects a bool,

then converts strictly. A float where an id belongs still fails: a float has already lost digits.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

__all__ = ["WireDecodeError", "convert_reply", "decode_json", "encode_json"]

T = TypeVar("T")

_json_decoder = msgspec.json.Decoder()
_json_encoder = msgspec.json.Encoder()


class WireDecodeError(ValueError):
    """A reply that does not have the shape of the expected Struct."""


def decode_json(data: bytes) -> Any:
    """Any JSON document as Python objects; integers of any size stay exact ints."""
    try:
        return _json_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise WireDecodeError(f"not JSON: {exc}") from None


def encode_json(value: Any) -> bytes:
    """JSON bytes of a request body (UTF-8, Chinese text not escaped)."""
    return _json_encoder.encode(value)


def convert_reply(obj: Any, type_: type[T]) -> T:
    """``obj`` (decoded JSON) as ``type_`` after the tolerant pass described in the module doc."""
    try:
        return msgspec.convert(_loosen(obj, _info(type_)), type_)
    except msgspec.ValidationError as exc:
        raise WireDecodeError(str(exc)) from None


_type_infos: dict[Any, mi.Type] = {}


def _info(type_: Any) -> mi.Type:
    info = _type_infos.get(type_)
    if info is None:
        info = _type_infos[type_] = mi.type_info(type_)
    return info


def _accepts_none(t: mi.Type) -> bool:
    if isinstance(t, mi.NoneType | mi.AnyType):
        return True
    return isinstance(t, mi.UnionType) and any(_accepts_none(m) for m in t.types)


def _loosen(value: Any, t: mi.Type) -> Any:  # noqa: PLR0911 - one branch per JSON shape
    if isinstance(t, mi.UnionType):
        return _loosen_union(value, t)
    if isinstance(t, mi.StrType) and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(t, mi.BoolType) and value in (0, 1) and not isinstance(value, bool):
        return bool(value)
    if isinstance(t, mi.StructType) and isinstance(value, dict):
        return _loosen_struct(value, t)
    if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType) and isinstance(
        value, list
    ):
        return [_loosen(item, t.item_type) for item in value]
    if isinstance(t, mi.DictType) and isinstance(value, dict):
        return {k: _loosen(v, t.value_type) for k, v in value.items()}
    return value


def _loosen_struct(value: dict[str, Any], t: mi.StructType) -> dict[str, Any]:
    out = dict(value)
    for field in t.fields:
        name = field.encode_name
        if name not in out:
            continue
        if out[name] is None and not _accepts_none(field.type) and not field.required:
            del out[name]  # null for an absent optional object: use the field's default
        else:
            out[name] = _loosen(out[name], field.type)
    return out


def _loosen_union(value: Any, t: mi.UnionType) -> Any:
    members = [m for m in t.types if not isinstance(m, mi.NoneType)]
    if value is None:
        return value
    if len(members) == 1:
        return _loosen(value, members[0])
    if isinstance(value, int) and not isinstance(value, bool):
        if any(isinstance(m, mi.IntType) for m in members):
            return value
        if any(isinstance(m, mi.StrType) for m in members):
            return str(value)
    return value

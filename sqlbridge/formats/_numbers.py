"""Numbers as ClickHouse writes them: floats without ``e+`` below 1e21, decimals without
trailing zeros, and the ``-- 2.00 million`` tip after a large number in the Pretty formats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal

import pyarrow as pa
import pyarrow.compute as pc

STRING = pa.string()


def _float_fix(text: str) -> str:
    """Arrow prints ``1e+16``; ClickHouse (like JavaScript) writes plain digits up to 1e21 and
    an exponent without ``+`` above."""
    mantissa, _, exp = text.partition("e+")
    sign = ""
    if mantissa.startswith("-"):
        sign, mantissa = "-", mantissa[1:]
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + int(exp)  # position of the decimal point within digits
    if point > 21:
        return sign + mantissa + "e" + exp
    if point < len(digits):
        return sign + digits[:point] + "." + digits[point:]
    return sign + digits + "0" * (point - len(digits))


def floats(arr: pa.Array) -> pa.Array:
    out = pc.cast(arr, STRING)
    if len(out) == 0:
        return out
    mask = pc.fill_null(pc.match_substring(out, "e+"), False)
    if pc.any(mask).as_py():
        fixed = [_float_fix(s) for s in out.filter(mask).to_pylist()]
        out = pc.replace_with_mask(out, mask, pa.array(fixed, STRING))
    return out


def decimals(arr: pa.Array) -> pa.Array:
    """Decimals without trailing zeros (``output_format_decimal_trailing_zeros=0``)."""
    out = pc.cast(arr, STRING)
    if arr.type.scale > 0:
        out = pc.replace_substring_regex(out, r"\.?0+$", "")
        out = pc.replace_substring_regex(out, r"^(-?)$", r"${1}0")
    return out


#: formatReadableQuantity's units, a factor of 1000 apart.
QUANTITY_UNITS = (
    "", " thousand", " million", " billion", " trillion", " quadrillion", " quintillion",
    " sextillion", " septillion", " octillion", " nonillion", " decillion", " undecillion",
    " duodecillion", " tredecillion", " quattuordecillion", " quindecillion", " sexdecillion",
    " septendecillion", " octodecillion", " novemdecillion", " vigintillion",
)  # fmt: skip


def readable_quantity(value: float) -> str:
    """``formatReadableQuantity(value, 2)``: ``2.00 million``."""
    units = QUANTITY_UNITS
    i = 0
    while i + 1 < len(units) and abs(value) >= 1000:
        value /= 1000
        i += 1
    if abs(value) >= 1e60:
        # double-conversion's ToFixed refuses such numbers; ClickHouse then prints the float
        return floats(pa.array([value], pa.float64()))[0].as_py() + units[i]
    fixed = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=_WIDE)
    return f"{fixed}{units[i]}"


_WIDE = Context(prec=100)


def number_tip(value) -> str:
    """The `` -- 2.00 million`` tip ClickHouse prints after a large number in Pretty formats."""
    if value is None:
        return ""
    v = float(value)
    a = abs(v)
    if v != v or a == float("inf") or a <= 1_000_000 or 1e17 < a < 1.844675e19:
        return ""
    return " -- " + readable_quantity(v)

"""Units of measure next to numbers, and whether a converted value is the same quantity within rounding.

A news translation may carry a measure in the reader's units (``250 kg`` → ``550 pound``, ``140 km per uur``
→ ``85 mph``, ``26 graden`` → ``80 degrees``). The guard accepts such a value only when the English has the
target unit next to it and the two agree once converted, within the rounding each side's digits allow, so a
changed number still shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

RELATIVE_ROUNDING = 0.05  # a round number ("200", "550") may stand for a value up to 5 % away


@dataclass(frozen=True)
class Unit:
    """A unit: its dimension, and ``(factor, offset)`` readings into the dimension's base unit.

    Several readings where one word means several units (US or imperial gallons, °C or °F for ``degrees``).
    """

    name: str
    dimension: str
    readings: tuple[tuple[float, float], ...]


_FAHRENHEIT = (5 / 9, -32 * 5 / 9)
UNITS: dict[str, Unit] = {
    u.name: u
    for u in [
        Unit("mm", "length", ((0.001, 0.0),)),
        Unit("cm", "length", ((0.01, 0.0),)),
        Unit("m", "length", ((1.0, 0.0),)),
        Unit("km", "length", ((1000.0, 0.0),)),  # also km/h: speeds convert like distances
        Unit("in", "length", ((0.0254, 0.0),)),
        Unit("ft", "length", ((0.3048, 0.0),)),
        Unit("yd", "length", ((0.9144, 0.0),)),
        Unit("mi", "length", ((1609.344, 0.0),)),  # also mph
        Unit("g", "mass", ((0.001, 0.0),)),
        Unit("kg", "mass", ((1.0, 0.0),)),
        Unit("t", "mass", ((1000.0, 0.0),)),
        Unit("ton", "mass", ((1000.0, 0.0), (907.18474, 0.0), (1016.0469, 0.0))),  # metric, short, long
        Unit("oz", "mass", ((0.028349523, 0.0),)),
        Unit("lb", "mass", ((0.45359237, 0.0),)),
        Unit("st", "mass", ((6.35029318, 0.0),)),
        Unit("°C", "temperature", ((1.0, 0.0),)),
        Unit("°F", "temperature", (_FAHRENHEIT,)),
        Unit("degrees", "temperature", ((1.0, 0.0), _FAHRENHEIT)),
        Unit("m²", "area", ((1.0, 0.0),)),
        Unit("km²", "area", ((1e6, 0.0),)),
        Unit("ha", "area", ((1e4, 0.0),)),
        Unit("sq ft", "area", ((0.09290304, 0.0),)),
        Unit("acre", "area", ((4046.8564224, 0.0),)),
        Unit("sq mi", "area", ((2589988.110336, 0.0),)),
        Unit("ml", "volume", ((0.001, 0.0),)),
        Unit("l", "volume", ((1.0, 0.0),)),
        Unit("pint", "volume", ((0.473176473, 0.0), (0.56826125, 0.0))),
        Unit("gallon", "volume", ((3.785411784, 0.0), (4.54609, 0.0))),
    ]
}

TEMPERATURE_UNITS = frozenset(name for name, unit in UNITS.items() if unit.dimension == "temperature")

# Surface forms right after a number (a space or hyphen between), longest first; ``(?-i:…)`` where a short
# form is a word too in another case (``5G``, ``80F``), and ``in`` only written against the digits.
_DUTCH_FORMS: list[tuple[str, str]] = [
    (r"vierkante\s+kilometers?|km²|km2", "km²"),
    (r"vierkante\s+meters?|m²|m2", "m²"),
    (r"hectares?|ha", "ha"),
    (r"millimeters?|mm", "mm"),
    (r"centimeters?|cm", "cm"),
    (r"kilometers?|km", "km"),
    (r"meters?|(?-i:m)", "m"),
    (r"mijlen|mijl", "mi"),
    (r"voet", "ft"),
    (r"inch(?:es)?|duim", "in"),
    (r"kilogrammen|kilogram|kilo's|kilo|kg", "kg"),
    (r"grammen|gram|(?-i:g)", "g"),
    (r"tonnen|ton", "t"),
    (r"graden\s+fahrenheit|°\s*F", "°F"),
    (r"graden\s+celsius|graden|graad|°\s*C|°", "°C"),
    (r"milliliters?|ml", "ml"),
    (r"liters?|(?-i:l)", "l"),
]
_ENGLISH_FORMS: list[tuple[str, str]] = [
    (r"square\s+kilomet(?:re|er)s?|sq\.?\s*km|km²|km2", "km²"),
    (r"square\s+met(?:re|er)s?|sq\.?\s*m|m²|m2", "m²"),
    (r"square\s+miles?|sq\.?\s*mi", "sq mi"),
    (r"square\s+(?:feet|foot)|sq\.?\s*ft", "sq ft"),
    (r"hectares?|ha", "ha"),
    (r"acres?", "acre"),
    (r"millimet(?:re|er)s?|mm", "mm"),
    (r"centimet(?:re|er)s?|cm", "cm"),
    (r"kilomet(?:re|er)s?|kph|km/h|km", "km"),
    (r"met(?:re|er)s?|(?-i:m)", "m"),
    (r"inch(?:es)?|(?<=\d)in", "in"),
    (r"feet|foot|ft", "ft"),
    (r"yards?|yds?", "yd"),
    (r"miles?|mph|mi", "mi"),
    (r"kilograms?|kilos?|kg", "kg"),
    (r"grams?|(?-i:g)", "g"),
    (r"tonnes?", "t"),
    (r"tons?", "ton"),
    (r"ounces?|oz", "oz"),
    (r"pounds?|lbs?", "lb"),
    (r"stones?", "st"),
    (r"degrees\s+(?:Celsius|centigrade)|°\s*C|Celsius|(?-i:C)", "°C"),
    (r"degrees\s+Fahrenheit|°\s*F|Fahrenheit|(?-i:F)", "°F"),
    (r"degrees|°", "degrees"),
    (r"millilit(?:re|er)s?|ml", "ml"),
    (r"litres?|liters?|(?-i:l)", "l"),
    (r"pints?", "pint"),
    (r"gallons?", "gallon"),
]


def _unit_pattern(forms: list[tuple[str, str]]) -> re.Pattern[str]:
    groups = "|".join(f"(?P<u{i}>{form})" for i, (form, _) in enumerate(forms))
    return re.compile(rf"[\s-]?(?:{groups})(?![\w²])", re.IGNORECASE)


_DUTCH_UNIT = _unit_pattern(_DUTCH_FORMS)
_ENGLISH_UNIT = _unit_pattern(_ENGLISH_FORMS)


def _unit_at(pattern: re.Pattern[str], forms: list[tuple[str, str]], text: str, pos: int) -> tuple[str, int] | None:
    m = pattern.match(text, pos)
    if m is None or m.lastgroup is None:
        return None
    return forms[int(m.lastgroup[1:])][1], m.end()


def dutch_unit_at(text: str, pos: int) -> tuple[str, int] | None:
    """The unit written at ``pos`` (right after a number) in Dutch, and where it ends."""
    return _unit_at(_DUTCH_UNIT, _DUTCH_FORMS, text, pos)


def english_unit_at(text: str, pos: int) -> tuple[str, int] | None:
    """The unit written at ``pos`` (right after a number) in English, and where it ends."""
    return _unit_at(_ENGLISH_UNIT, _ENGLISH_FORMS, text, pos)


FEET_AND_INCHES = re.compile(
    r"(?<![\w.,])(\d{1,2})[\s-]?(?:feet|foot|ft|['’′])[\s,-]*(\d{1,2})(?:[\s-]?(?:inches|inch|in\b|[\"”″]))?(?![\w.,]?\d)",
    re.IGNORECASE,
)


def half_width(value: Decimal) -> float:
    """How far the true value may lie from ``value`` as written: half its last digit's step, and for a round
    number (trailing zeros) up to half the rounding step, at most ``RELATIVE_ROUNDING`` of the value."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < 0:
        return 0.5 * 10.0**exponent
    return max(0.5, min(0.5 * 10.0**exponent, RELATIVE_ROUNDING * abs(float(value))))


def same_quantity(value: Decimal, unit: str, other: Decimal, other_unit: str) -> bool:
    """Whether ``value unit`` and ``other other_unit`` are one quantity, each rounded as written."""
    first, second = UNITS.get(unit), UNITS.get(other_unit)
    if first is None or second is None or first.dimension != second.dimension:
        return False
    for factor, offset in first.readings:
        for other_factor, other_offset in second.readings:
            distance = abs(float(value) * factor + offset - (float(other) * other_factor + other_offset))
            if distance <= half_width(value) * factor + half_width(other) * other_factor + 1e-9:
                return True
    return False

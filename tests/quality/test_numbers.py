"""Numbers in Dutch sources and English outputs: each rule that lets a correct translation through, and the
same kind of sentence with a wrong or missing number, which must still fire.

Tables are (source, target, expected): ``expected`` lists the source numbers (as written) the guard reports
missing; ``[]`` means the translation is accepted.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.quality.clock import dutch_times, english_times
from pipeline.quality.dates import dutch_dates, english_dates
from pipeline.quality.guards import check_numbers
from pipeline.quality.number_words import dutch_word_numbers, dutch_word_value, english_word_numbers
from pipeline.quality.numbers import NumberMention, dutch_numbers, english_numbers, matches, missing_numbers
from pipeline.quality.units import half_width, same_quantity

Case = tuple[str, str, list[str]]

METRIC_AND_IMPERIAL: list[Case] = [
    ("De zeug woog 180 kg.", "The sow weighed 400 pounds.", []),
    ("De zeug woog 180 kg.", "The sow weighed 400lbs.", []),
    ("De zeug woog 180 kg.", "The sow weighed 500 pounds.", ["180 kg"]),
    ("De zeug woog 180 kg.", "The sow weighed 400.", ["180 kg"]),  # no unit next to it: no conversion
    ("De zeug woog 180 kg.", "The sow weighed 400 kg.", ["180 kg"]),
    ("De center is 211 cm lang.", "The 6-foot-11 center.", []),
    ("De center is 211 cm lang.", "The 6ft 11in center.", []),
    ("De center is 211 cm lang.", "The 6 feet 11 inches tall center.", []),
    ("De center is 211 cm lang.", "The 6-foot-9 center.", ["211 cm"]),
    ("Ze is 1,75 meter lang.", "She is 5ft 9in.", []),
    ("Ze is 1,75 meter lang.", "She is 5ft 5in.", ["1,75 meter"]),
    ("Er valt 2 tot 8 cm sneeuw.", "Between 1 and 3 inches of snow will fall.", []),
    ("Er valt 2 tot 8 cm sneeuw.", "Up to 1 to 3 inches of snow will fall.", []),
    ("Er valt 2 tot 8 cm sneeuw.", "Up to 1 to 5 inches of snow will fall.", ["8 cm"]),
    ("Er valt 2 tot 8 cm sneeuw.", "Up to 3 inches of snow will fall.", ["2"]),
    ("De storm haalde 160 km per uur.", "The storm reached 100 mph.", []),
    ("De storm haalde 160 km per uur.", "The storm reached 100 miles per hour.", []),
    ("De storm haalde 160 km/u.", "The storm reached 120 mph.", ["160 km"]),
    ("Het dorp ligt 70 km verderop.", "The village is 45 miles away.", []),
    ("Het dorp ligt 70 km verderop.", "The village is 55 miles away.", ["70 km"]),
    ("Het dorp ligt 300 km verderop.", "The village is about 190 miles away.", []),
    ("De toren is 250 meter hoog.", "The tower is 820 feet tall.", []),
    ("De toren is 250 meter hoog.", "The tower is 920 feet tall.", ["250 meter"]),
    ("Het was 31 graden.", "It was 88 degrees.", []),
    ("Het was 31 graden.", "It was 88F.", []),
    ("Het was 31 graden.", "It was 31 degrees.", []),
    ("Het was 31 graden.", "It was 78 degrees.", ["31 graden"]),
    ("Het was 31 graden.", "It was 88.", ["31 graden"]),
    ("Het vroor min 10 graden.", "It was 14 degrees Fahrenheit.", []),
    ("Het vroor min 10 graden.", "It was 50 degrees Fahrenheit.", ["10 graden"]),
    ("Het vroor -10 graden.", "It was -10C.", []),
    ("Het perceel is 40 hectare.", "The plot covers 100 acres.", []),
    ("Er viel 25 mm regen.", "An inch of rain fell.", []),
    ("Er viel 25 mm regen.", "A foot of rain fell.", ["25 mm"]),
    ("Ze kochten 2 liter melk.", "They bought half a gallon of milk.", []),
    ("Het perceel is 40 hectare.", "The plot covers 150 acres.", ["40 hectare"]),
]

CLOCK_TIMES: list[Case] = [
    ("De trein vertrekt om 16 uur.", "The train leaves at 4 p.m.", []),
    ("De trein vertrekt om 16 uur.", "The train leaves at 4pm.", []),
    ("De trein vertrekt om 16 uur.", "The train leaves at 16:00.", []),
    ("De trein vertrekt om 16 uur.", "The train leaves at 4 a.m.", ["16 uur"]),
    ("De trein vertrekt om 16 uur.", "The train leaves at 5pm.", ["16 uur"]),
    ("Om 9 uur begon de zitting.", "At 9am the hearing began.", []),
    ("Om 9 uur begon de zitting.", "At 9pm the hearing began.", []),  # no half of the day in the Dutch
    ("Om 9 uur begon de zitting.", "At nine o'clock the hearing began.", []),
    ("Om 9 uur begon de zitting.", "At 10am the hearing began.", ["9 uur"]),
    ("Om 9 uur 's avonds begon de zitting.", "At 9pm the hearing began.", []),
    ("Om 9 uur 's avonds begon de zitting.", "At 9am the hearing began.", ["9 uur 's avonds"]),
    ("De aftrap is om 20.45 uur.", "Kick-off is at 8.45pm.", []),
    ("De aftrap is om 20.45 uur.", "Kick-off is at 8:45 p.m.", []),
    ("De aftrap is om 20.45 uur.", "Kick-off is at 20:45.", []),
    ("De aftrap is om 20.45 uur.", "Kick-off is at 8.45am.", ["20.45 uur"]),
    ("De aftrap is om 20.45 uur.", "Kick-off is at 8.15pm.", ["20.45 uur"]),
    ("Het ongeluk gebeurde om 14.30 uur.", "The crash happened at 2:30 pm.", []),
    ("Het ongeluk gebeurde om 14.30 uur.", "The crash happened at 2.30.", []),
    ("Het ongeluk gebeurde om 14.30 uur.", "The crash happened at 2:30 am.", ["14.30 uur"]),
    ("De winkel sluit om 18.15 u.", "The shop closes at 6.15pm.", []),
    ("De winkel sluit om 18 u.", "The shop closes at 6pm.", []),
    ("De winkel sluit om 18 u.", "The shop closes at 8pm.", ["18 u."]),
    ("Het feest begint om 22:30.", "The party starts at 10.30pm.", []),
    ("Het feest begint om 22:30.", "The party starts at 10.30am.", ["22:30"]),
    ("Het feest begint 22.30 uur.", "The party starts at half past ten.", []),
    ("Ze vertrok om 5:00 uur 's ochtends.", "She left at 5am.", []),
    ("Ze vertrok om 5:00 uur 's ochtends.", "She left at 5pm.", ["5:00 uur 's ochtends"]),
    ("We spreken af om half drie.", "We meet at 2:30.", []),
    ("We spreken af om half drie.", "We meet at half past two.", []),
    ("We spreken af om half drie.", "We meet at 2.30pm.", []),
    ("We spreken af om half drie.", "We meet at 3:30.", ["half drie"]),
    ("We spreken af om kwart voor acht.", "We meet at 7.45.", []),
    ("We spreken af om kwart voor acht.", "We meet at quarter to eight.", []),
    ("We spreken af om kwart voor acht.", "We meet at 8.15.", ["kwart voor acht"]),
    ("We spreken af om tien over half vijf.", "We meet at 4.40pm.", []),
    ("Om 12 uur luidden de klokken.", "At noon the bells rang.", []),
    ("Om 12 uur luidden de klokken.", "At midnight the bells rang.", []),
    ("De staking duurt 48 uur.", "The strike lasts 48 hours.", []),
    ("De staking duurt 24 uur.", "The strike lasts 24 hours.", []),
    ("De staking duurt 24 uur.", "The strike lasts 36 hours.", ["24 uur"]),
    ("De staking duurt drie uur.", "The strike lasts three hours.", []),
    ("De staking duurt drie uur.", "The strike lasts four hours.", ["drie uur"]),
]

SCALES: list[Case] = [
    ("De markt is £ 4,6 miljard waard.", "The market is worth £4.6bn.", []),
    ("De markt is £ 4,6 miljard waard.", "The market is worth £4.6 billion.", []),
    ("De markt is £ 4,6 miljard waard.", "The market is worth £4.9bn.", ["4,6 miljard"]),
    ("De markt is £ 4,6 miljard waard.", "The market is worth £4.6m.", ["4,6 miljard"]),
    ("Ze betaalden 70 miljoen Britse pond.", "They paid £70m.", []),
    ("Ze betaalden 70 miljoen Britse pond.", "They paid £70million.", []),
    ("Ze betaalden 70 miljoen Britse pond.", "They paid £70 mn.", []),
    ("Ze betaalden 70 miljoen Britse pond.", "They paid £17m.", ["70 miljoen"]),
    ("Ze betaalden 70 mln. euro.", "They paid €70m.", []),
    ("Het kost 250.000 dollar.", "It costs $250k.", []),
    ("Het kost 250.000 dollar.", "It costs $25k.", ["250.000"]),
    ("De club telt drie miljoen leden.", "The club has three million members.", []),
    ("De club telt drie miljoen leden.", "The club has 3 million members.", []),
    ("De club telt drie miljoen leden.", "The club has 3m members.", []),
    ("De club telt drie miljoen leden.", "The club has 30 million members.", ["drie miljoen"]),
    ("Er kwam anderhalf miljoen euro bij.", "Another 1.5 million euros came in.", []),
    ("Er kwam anderhalf miljoen euro bij.", "Another one and a half million euros came in.", []),
    ("Er kwam een half miljoen euro bij.", "Another half a million euros came in.", []),
    ("Er kwam een half miljoen euro bij.", "Another 500,000 euros came in.", []),
]

WORDS: list[Case] = [
    ("Er raakten twaalf mensen gewond.", "Twelve people were injured.", []),
    ("Er raakten twaalf mensen gewond.", "12 people were injured.", []),
    ("Er raakten twaalf mensen gewond.", "Eleven people were injured.", ["twaalf"]),
    ("Er raakten 12 mensen gewond.", "Twelve people were injured.", []),
    ("Er raakten 12 mensen gewond.", "Eleven people were injured.", ["12"]),
    ("Het huis staat er al honderd jaar.", "The house has stood for a hundred years.", []),
    ("Het huis staat er al honderd jaar.", "The house has stood for a century.", []),
    ("Het huis staat er al honderd jaar.", "The house has stood for ninety years.", ["honderd"]),
    ("Hij zat vijfentwintig jaar vast.", "He was jailed for twenty-five years.", []),
    ("Hij zat vijfentwintig jaar vast.", "He was jailed for 25 years.", []),
    ("Hij zat vijfentwintig jaar vast.", "He was jailed for twenty-six years.", ["vijfentwintig"]),
    ("Er kwamen tweehonderdvijftig mensen.", "Two hundred and fifty people came.", []),
    ("Er kwamen tweehonderdvijftig mensen.", "Two hundred people came.", ["tweehonderdvijftig"]),
    ("Ze won zes wedstrijden.", "She won a six-game series.", []),
    ("Er waren twee opties.", "There were a pair of options.", []),
    ("Er waren twee opties.", "There were three options.", ["twee"]),
    ("Er is één winnaar.", "There is a winner.", []),  # "één" is as often "a" as "one": not checked alone
    ("Het liep in het honderd.", "It all went wrong.", []),  # idiom: no count
    ("Het gebouw werd 20 jaar later gesloopt.", "The building was torn down two decades later.", []),
    ("Het gebouw werd 10 jaar later gesloopt.", "The building was torn down a decade later.", []),
    ("Het gebouw werd 20 jaar later gesloopt.", "The building was torn down a decade later.", ["20"]),
    ("Ze groeide op in de jaren 70.", "She grew up in the 1970s.", []),
    ("Ze groeide op in de jaren 70.", "She grew up in the seventies.", []),
    ("Ze groeide op in de jaren '70.", "She grew up in the '70s.", []),
    ("Ze groeide op in de jaren zeventig.", "She grew up in the 1970s.", []),
    ("Ze groeide op in de jaren 70.", "She grew up in the 1960s.", ["jaren 70"]),
]

PERCENT_AND_RANGES: list[Case] = [
    ("De omzet daalde 4 procent.", "Sales fell four per cent.", []),
    ("De omzet daalde 4 procent.", "Sales fell 4pc.", []),
    ("De omzet daalde 4 procent.", "Sales fell five per cent.", ["4 procent"]),
    ("De omzet daalde 4 procent.", "Sales fell four.", ["4 procent"]),
    ("De omzet daalde vier procent.", "Sales fell 4%.", []),
    ("De rente ging van 2 naar 3%.", "The rate went from two to three per cent.", []),
    ("De rente ging van 2 naar 3%.", "The rate went from two to four per cent.", ["3%"]),
    ("De rente ging van 2 naar 3%.", "The rate went from 2% to 3%.", []),
    ("Tussen 6 en 9 procent.", "Between 6 and 9 per cent.", []),
    ("Tussen 6 en 9 procent.", "Between 6 and 8 per cent.", ["9 procent"]),
    ("50 procent van de leden stemde voor.", "Half of the members voted in favour.", []),
    ("50 procent van de leden stemde voor.", "40 per cent of the members voted in favour.", ["50 procent"]),
]

DATES: list[Case] = [
    ("Op 24 dec. ging de zaak dicht.", "On Dec. 24 the shop closed.", []),
    ("Op 24 december ging de zaak dicht.", "On Dec. 24 the shop closed.", []),
    ("Op 24 december ging de zaak dicht.", "On Dec. 23 the shop closed.", ["24 december"]),
    ("Hij werd op 3 augustus 2017 geboren.", "He was born on August 3, 2017.", []),
    ("Hij werd op 3 augustus 2017 geboren.", "He was born on Aug. 3 2017.", []),
    ("Hij werd op 3 augustus 2017 geboren.", "He was born on August 3, 2016.", ["2017"]),
    ("Hij werd op 3 augustus 2017 geboren.", "He was born on August 8, 2017.", ["3 augustus 2017"]),
    ("Op 1-7-2020 ging het in.", "It took effect on July 1, 2020.", []),
    ("Op 1-7-2020 ging het in.", "It took effect on July 2, 2020.", ["1-7-2020"]),
    ("De aanslagen van 11 september.", "The 9/11 attacks.", []),
    ("Het festival is op 6 en 7 juni.", "The festival is on June 6-7.", []),
    ("Het festival is op 6 en 7 juni.", "The festival is on 6 and 7 June.", []),
    ("Het festival is op 6 en 7 juni.", "The festival is on June 6.", ["6 en 7 juni"]),
]

DIGITS: list[Case] = [
    ("Er kwamen 4.500 fans.", "Some 4,500 fans came.", []),
    ("Er kwamen 4.500 fans.", "Some 4,600 fans came.", ["4.500"]),
    ("Er kwamen 4.500 fans.", "Some fans came.", ["4.500"]),
    ("Het werd 3-1.", "It finished 3-1.", []),
    ("Het werd 3-1.", "It finished 3-2.", ["1"]),
    ("Geen getallen hier.", "No numbers here.", []),
]

ALL = METRIC_AND_IMPERIAL + CLOCK_TIMES + SCALES + WORDS + PERCENT_AND_RANGES + DATES + DIGITS


@pytest.mark.parametrize(("source", "target", "expected"), ALL)
def test_numbers_missing(source: str, target: str, expected: list[str]) -> None:
    found = missing_numbers(source, target)
    assert [n.text for n in found] == expected, (dutch_numbers(source), english_numbers(target))


@pytest.mark.parametrize(("source", "target", "expected"), ALL)
def test_numbers_guard_fires_exactly_when_something_is_missing(source: str, target: str, expected: list[str]) -> None:
    flag = check_numbers(source, target)
    assert (flag is not None) == bool(expected)
    if flag is not None:
        assert flag.name == "number_mismatch"
        assert [m["source"] for m in flag.evidence["missing"]] == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("om 16 uur", ["16:00"]),
        ("om 4 uur", ["4:00", "16:00"]),
        ("om 4 uur 's middags", ["16:00"]),
        ("'s nachts om 3 uur", ["3:00"]),
        ("om 11 uur 's avonds", ["23:00"]),
        ("om 12 uur 's nachts", ["0:00"]),
        ("om 20.45 uur", ["20:45"]),
        ("12.55 u.", ["0:55", "12:55"]),
        ("17:30", ["17:30"]),
        ("half twee", ["1:30", "13:30"]),
        ("half een", ["0:30", "12:30"]),
        ("kwart over drie", ["3:15", "15:15"]),
        ("om vijf voor half tien", ["9:25", "21:25"]),
        ("om drie uur", ["3:00", "15:00"]),
        ("binnen een uur", []),  # "an hour"
        ("na 2,5 uur", []),  # a decimal count of hours is no time
    ],
)
def test_numbers_dutch_clock_readings(source: str, expected: list[str]) -> None:
    assert [r for t in dutch_times(source) for r in t.readings] == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("at 4 p.m.", ["16:00"]),
        ("at 4pm", ["16:00"]),
        ("at 12 p.m.", ["12:00"]),
        ("at 12 a.m.", ["0:00"]),
        ("at 4:15 am", ["4:15"]),
        ("at 4.15", ["4:15", "16:15"]),
        ("at 16:15", ["16:15"]),
        ("at seven o'clock", ["7:00", "19:00"]),
        ("at 7 in the evening", ["19:00"]),
        ("half past six", ["6:30", "18:30"]),
        ("a quarter to nine", ["8:45", "20:45"]),
        ("at noon", ["12:00"]),
        ("from two to four per cent", []),  # a range, not "ten to six"
        ("at two police stations", []),
    ],
)
def test_numbers_english_clock_readings(target: str, expected: list[str]) -> None:
    assert [r for t in english_times(target) for r in t.readings] == expected


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("twaalf", "12"),
        ("Twaalf", "12"),
        ("honderd", "100"),
        ("tweehonderdvijftig", "250"),
        ("eenentwintig", "21"),
        ("tweeëntwintig", "22"),
        ("zevenenveertig", "47"),
        ("negenennegentig", "99"),
        ("duizend", "1000"),
        ("drieduizendvijfhonderd", "3500"),
        ("anderhalf", "1.5"),
        ("tweeënhalf", "2.5"),
        ("een", None),
        ("één", None),
        ("tweeën", None),
        ("tiende", None),
        ("vijfjarige", None),
    ],
)
def test_numbers_dutch_word_values(word: str, value: str | None) -> None:
    result = dutch_word_value(word)
    assert (None if result is None else str(result.normalize())) == (
        None if value is None else str(Decimal(value).normalize())
    )


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("drie miljoen", ["3000000"]),
        ("een miljoen", ["1000000"]),
        ("twee miljard", ["2000000000"]),
        ("een half miljoen", ["500000"]),
        ("zes of zeven", ["6", "7"]),
        ("een huis", []),
        ("in acht nemen", []),
        ("in acht landen", ["8"]),
    ],
)
def test_numbers_dutch_word_numbers(text: str, values: list[str]) -> None:
    assert [format(v.normalize(), "f") for _, _, v in dutch_word_numbers(text)] == values


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("twenty-five", ["25"]),
        ("two hundred and fifty", ["250"]),
        ("three million", ["3000000"]),
        ("a million", ["1000000"]),
        ("half a million", ["500000"]),
        ("one and a half", ["1.5"]),
        ("a decade", ["10"]),
        ("two decades", ["20"]),
        ("a dozen", ["12"]),
        ("dozens", []),
        ("a pair of", ["2"]),
        ("one two", ["1", "2"]),  # two numbers, not 3
        ("five six", ["5", "6"]),
        ("the twenty-first", ["21"]),
        ("a seven-day week", ["7"]),
    ],
)
def test_numbers_english_word_numbers(text: str, values: list[str]) -> None:
    assert [format(v.normalize(), "f") for _, _, v, _ in english_word_numbers(text)] == values


@pytest.mark.parametrize(
    ("value", "unit", "other", "other_unit", "same"),
    [
        ("250", "kg", "550", "lb", True),
        ("250", "kg", "600", "lb", False),
        ("3", "cm", "1", "in", True),  # each rounded to whole units
        ("3", "cm", "2", "in", False),
        ("200", "km", "130", "mi", True),  # round numbers: within 5 %
        ("200", "km", "150", "mi", False),
        ("26", "°C", "80", "degrees", True),
        ("26", "°C", "81", "degrees", False),
        ("26", "°C", "26", "degrees", True),
        ("1.98", "m", "78", "in", True),
        ("5", "l", "1.3", "gallon", True),
        ("5", "kg", "5", "km", False),  # different dimensions
        ("5", "kg", "11", "parsec", False),  # unknown unit
    ],
)
def test_numbers_same_quantity(value: str, unit: str, other: str, other_unit: str, same: bool) -> None:
    assert same_quantity(Decimal(value), unit, Decimal(other), other_unit) is same


@pytest.mark.parametrize(
    ("value", "width"),
    [("7", 0.5), ("1.5", 0.05), ("550", 5.0), ("200", 10.0), ("20", 1.0), ("6000", 300.0)],
)
def test_numbers_rounding_half_width(value: str, width: float) -> None:
    assert half_width(Decimal(value)) == pytest.approx(width)


@pytest.mark.parametrize(
    ("source", "readings"),
    [
        ("op 24 dec.", [(12, 24)]),
        ("op 6 en 7 juni 2021", [(6, 6), (6, 7)]),
        ("op 1-7-2020", [(7, 1)]),
        ("de score 1-7", []),  # no year: a score or a range
    ],
)
def test_numbers_dutch_dates(source: str, readings: list[tuple[int, int]]) -> None:
    assert [r for d in dutch_dates(source) for r in d.readings] == readings


@pytest.mark.parametrize(
    ("target", "readings"),
    [
        ("on Dec. 24", [(12, 24)]),
        ("on Sept. 3, 2019", [(9, 3)]),
        ("the 3rd of September", [(9, 3)]),
        ("on June 6-7", [(6, 6), (6, 7)]),
        ("the 9/11 attacks", [(9, 11), (11, 9)]),
        ("Jan scored twice", []),  # a name, not a month
    ],
)
def test_numbers_english_dates(target: str, readings: list[tuple[int, int]]) -> None:
    assert sorted(r for d in english_dates(target) for r in d.readings) == sorted(readings)


def test_numbers_a_dutch_mention_keeps_its_fields_and_readings() -> None:
    [mention] = dutch_numbers("om 16 uur")
    assert (mention.kind, mention.value, mention.text, mention.start) == ("time", "16:00", "16 uur", 3)
    assert mention.key == ("time", "16:00") and mention.english() == "16:00"
    [weight] = dutch_numbers("een varken van 180 kg")
    assert weight.unit == "kg" and weight.english() == "180 kg"


def test_numbers_matches_needs_the_unit_on_both_sides() -> None:
    weight = NumberMention("num", "180", "180 kg", 0, unit="kg")
    assert matches(weight, NumberMention("num", "400", "400 pounds", 0, unit="lb"))
    assert not matches(weight, NumberMention("num", "400", "400", 0))
    assert not matches(NumberMention("num", "180", "180", 0), NumberMention("num", "400", "400 pounds", 0, unit="lb"))


@pytest.mark.parametrize(
    ("target", "vague", "strict"),
    [
        ("Half of them left.", [("percent", "50")], []),
        ("Both teams scored.", [("num", "2")], []),
        ("Over the past decade.", [("num", "10")], []),
        ("The talks start at 9.", [("time", "9:00"), ("time", "21:00"), ("num", "9")], [("num", "9")]),
        ("A decade ago.", [("num", "10")], [("num", "10")]),
        ("An inch of rain.", [("num", "1")], []),
        ("A F-16 jet.", [("num", "16")], [("num", "16")]),
    ],
)
def test_numbers_vague_readings_only_for_matching(
    target: str, vague: list[tuple[str, str]], strict: list[tuple[str, str]]
) -> None:
    """``half``, ``both``, ``at 9`` may carry a source's number, but name none themselves (faithfulness counts
    the plain reading)."""
    assert sorted(n.key for n in english_numbers(target, vague=True)) == sorted(vague)
    assert sorted(n.key for n in english_numbers(target)) == sorted(strict)


def test_numbers_english_readings_share_a_position() -> None:
    """One written number, several readings: faithfulness groups them by position."""
    starts = {(n.kind, n.value): n.start for n in english_numbers("It cost £125m at 5.30pm.")}
    assert starts[("num", "125000000")] == starts[("num", "125")]
    assert starts[("time", "17:30")] == starts[("num", "5.3")]

"""The countries a region is shown with (Medusa storefronts route by ``iso_2``).

A region that lists its countries in the catalog is shown with exactly those (and
checkout refuses an address elsewhere); one that lists none is shown with the countries
whose currency it charges in. Every caller asks ``region_countries``.
"""

from commands.catalog import Region

# iso_2: (iso_3, name)
COUNTRIES: dict[str, tuple[str, str]] = {
    "at": ("aut", "Austria"),
    "au": ("aus", "Australia"),
    "be": ("bel", "Belgium"),
    "ca": ("can", "Canada"),
    "ch": ("che", "Switzerland"),
    "de": ("deu", "Germany"),
    "dk": ("dnk", "Denmark"),
    "es": ("esp", "Spain"),
    "fi": ("fin", "Finland"),
    "fr": ("fra", "France"),
    "gb": ("gbr", "United Kingdom"),
    "ie": ("irl", "Ireland"),
    "it": ("ita", "Italy"),
    "jp": ("jpn", "Japan"),
    "kr": ("kor", "South Korea"),
    "kw": ("kwt", "Kuwait"),
    "bh": ("bhr", "Bahrain"),
    "jo": ("jor", "Jordan"),
    "nl": ("nld", "Netherlands"),
    "no": ("nor", "Norway"),
    "nz": ("nzl", "New Zealand"),
    "pl": ("pol", "Poland"),
    "pt": ("prt", "Portugal"),
    "se": ("swe", "Sweden"),
    "us": ("usa", "United States"),
}

BY_CURRENCY: dict[str, tuple[str, ...]] = {
    "eur": ("de", "at", "be", "es", "fi", "fr", "ie", "it", "nl", "pt"),
    "usd": ("us",),
    "gbp": ("gb",),
    "chf": ("ch",),
    "cad": ("ca",),
    "aud": ("au",),
    "nzd": ("nz",),
    "dkk": ("dk",),
    "sek": ("se",),
    "nok": ("no",),
    "pln": ("pl",),
    "jpy": ("jp",),
    "krw": ("kr",),
    "kwd": ("kw",),
    "bhd": ("bh",),
    "jod": ("jo",),
}


def region_countries(region: Region) -> list[dict[str, str]]:
    """Medusa's country objects for the region (lowercase ``iso_2``)."""
    return [
        {
            "iso_2": code,
            "iso_3": COUNTRIES.get(code, ("", ""))[0],
            "num_code": "",
            "name": COUNTRIES.get(code, ("", code.upper()))[1].upper(),
            "display_name": COUNTRIES.get(code, ("", code.upper()))[1],
        }
        for code in _codes(region)
    ]


def _codes(region: Region) -> tuple[str, ...]:
    """The catalog's own list where the region has one, else the currency's countries."""
    if region.countries is not None:
        return region.countries
    return BY_CURRENCY.get(region.currency, ())

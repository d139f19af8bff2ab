"""Public reference data: facts anyone can look up, kept apart from the code that serves queries.

The demo's synthetic data is drawn from these lists, and a DP GROUP BY may release keys from a public domain
without the grant declaring them (the keys themselves disclose nothing about any person).
"""

from __future__ import annotations

from collections.abc import Mapping

# (name, administrative division code, 2020 census population in 10k)
CHONGQING_DISTRICTS: tuple[tuple[str, str, float], ...] = (
    ("万州区", "500101", 156),
    ("涪陵区", "500102", 111),
    ("渝中区", "500103", 59),
    ("大渡口区", "500104", 42),
    ("江北区", "500105", 93),
    ("沙坪坝区", "500106", 148),
    ("九龙坡区", "500107", 153),
    ("南岸区", "500108", 119),
    ("北碚区", "500109", 83),
    ("綦江区", "500110", 102),
    ("大足区", "500111", 83),
    ("渝北区", "500112", 219),
    ("巴南区", "500113", 118),
    ("黔江区", "500114", 49),
    ("长寿区", "500115", 69),
    ("江津区", "500116", 136),
    ("合川区", "500117", 124),
    ("永川区", "500118", 114),
    ("南川区", "500119", 57),
    ("璧山区", "500120", 76),
    ("铜梁区", "500151", 69),
    ("潼南区", "500152", 69),
    ("荣昌区", "500153", 67),
    ("开州区", "500154", 120),
    ("梁平区", "500155", 65),
    ("武隆区", "500156", 36),
    ("城口县", "500229", 20),
    ("丰都县", "500230", 56),
    ("垫江县", "500231", 65),
    ("忠县", "500233", 72),
    ("云阳县", "500235", 93),
    ("奉节县", "500236", 74),
    ("巫山县", "500237", 46),
    ("巫溪县", "500238", 39),
    ("石柱土家族自治县", "500240", 39),
    ("秀山土家族苗族自治县", "500241", 50),
    ("酉阳土家族苗族自治县", "500242", 61),
    ("彭水苗族土家族自治县", "500243", 50),
)

# Keys that are public knowledge, so a DP GROUP BY on these columns may release them without the grant
# declaring them: Chongqing's 38 district-level divisions and the two recorded genders.
PUBLIC_KEY_DOMAINS: Mapping[str, tuple[str, ...]] = {
    "district": tuple(d[0] for d in CHONGQING_DISTRICTS),
    "gender": ("女", "男"),
}

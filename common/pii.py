"""Offline PII detection for PRC identifiers, built on presidio with a blank spaCy pipeline.

Shared by catalog profiling (column suggestions on upload) and the sandbox output gate (scan every string
cell before release). Nothing here downloads anything: the NLP engine loads ``spacy.blank('zh')`` and
``spacy.blank('en')`` (tokenizers only, no NER), and the registry holds ONLY the recognizers below.

Entities:

* ``CN_RESIDENT_ID`` — 18-character resident identity number (GB 11643-1999): area code, valid birth date,
  sequence, ISO 7064 MOD 11-2 check character. Invalid check character or date = no hit.
* ``CN_MOBILE`` — 11-digit mobile number ``1[3-9]x{9}``, optional ``+86``/``86`` prefix, not part of a longer
  digit/letter run.
* ``CN_USCC`` — 18-character unified social credit code (GB 32100-2015) with its MOD 31 check character.
* ``BANK_CARD`` — 16 to 19 digits passing the Luhn check.
* ``EMAIL_ADDRESS`` — e-mail address; the pattern uses no ``\\b`` so it also hits inside Chinese text.
* ``CN_PERSON_NAME`` — a Chinese personal name standing on its own: a run of 2-4 Han characters (not part of
  a longer Han run) that starts with one of the ~130 most common surnames (or a compound surname), is not a
  common word, and does not end like a place, organization or category name (区, 街道, 公司, 业, ...).
  Names inside running text ("张三的收入") are not found; a name literal in an output cell is.

Findings carry offsets only, never the matched value; nothing in this module logs text.

>>> [f.entity for f in scan_text("联系邮箱abc@x.cn谢谢")]
['EMAIL_ADDRESS']
>>> scan_values(["13800138000", "年收入 12345.67 元", None, "11010519491231002X"])
Counter({'CN_MOBILE': 1, 'CN_RESIDENT_ID': 1})
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from presidio_analyzer import AnalyzerEngine

__all__ = [
    "ENTITIES",
    "PERSONAL_ENTITIES",
    "PiiFinding",
    "luhn_ok",
    "resident_id_check_char",
    "scan_text",
    "scan_values",
    "uscc_check_char",
    "valid_resident_id",
    "valid_uscc",
]

CN_RESIDENT_ID = "CN_RESIDENT_ID"
CN_MOBILE = "CN_MOBILE"
CN_USCC = "CN_USCC"
BANK_CARD = "BANK_CARD"
EMAIL_ADDRESS = "EMAIL_ADDRESS"
CN_PERSON_NAME = "CN_PERSON_NAME"

ENTITIES: tuple[str, ...] = (CN_RESIDENT_ID, CN_MOBILE, CN_USCC, BANK_CARD, EMAIL_ADDRESS, CN_PERSON_NAME)
# Entities that identify a natural person (个人信息). A USCC identifies an organization.
PERSONAL_ENTITIES: frozenset[str] = frozenset(
    {CN_RESIDENT_ID, CN_MOBILE, BANK_CARD, EMAIL_ADDRESS, CN_PERSON_NAME}
)

_LANGUAGE = "zh"

# --------------------------------------------------------------------------------------------- checksums

_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_MAP = "10X98765432"
_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_INDEX = {c: i for i, c in enumerate(_USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def resident_id_check_char(first17: str) -> str:
    """Check character of a resident ID from its first 17 digits (GB 11643, ISO 7064 MOD 11-2).

    >>> resident_id_check_char("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("expected 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _RID_WEIGHTS))
    return _RID_MAP[total % 11]


def valid_resident_id(s: str) -> bool:
    """True for an 18-character resident ID with a real birth date and a correct check character.

    >>> valid_resident_id("11010519491231002X"), valid_resident_id("110105194912310021")
    (True, False)
    >>> valid_resident_id("110105194902300026")  # 30 February
    False
    """
    if not isinstance(s, str) or len(s) != 18 or not s.isascii():
        return False
    body, check = s[:17], s[17].upper()
    if not body.isdigit() or body[0] == "0":
        return False
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return False
    if not (1800 <= born.year <= 2100):
        return False
    return resident_id_check_char(body) == check


def uscc_check_char(first17: str) -> str:
    """Check character of a unified social credit code from its first 17 characters (GB 32100, MOD 31).

    >>> uscc_check_char("91350100M000100Y4")
    '3'
    """
    if len(first17) != 17:
        raise ValueError("expected 17 characters")
    try:
        total = sum(_USCC_INDEX[c] * w for c, w in zip(first17.upper(), _USCC_WEIGHTS))
    except KeyError:
        raise ValueError("character outside the USCC alphabet") from None
    return _USCC_CHARSET[(31 - total % 31) % 31]


def valid_uscc(s: str) -> bool:
    """True for an 18-character USCC (6-digit area code inside) with a correct check character.

    >>> valid_uscc("91350100M000100Y43"), valid_uscc("91350100M000100Y44")
    (True, False)
    """
    if not isinstance(s, str) or len(s) != 18:
        return False
    s = s.upper()
    if any(c not in _USCC_INDEX for c in s) or not s[2:8].isdigit():
        return False
    return uscc_check_char(s[:17]) == s[17]


def luhn_ok(s: str) -> bool:
    """Luhn (mod 10) check over the digits of ``s``; spaces and dashes are ignored.

    >>> luhn_ok("6222 0202 0000 0000 006"), luhn_ok("6222020200000000003")
    (True, False)
    >>> luhn_ok("4111111111111111")
    True
    """
    if not isinstance(s, str):
        return False
    digits = s.replace(" ", "").replace("-", "")
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# ------------------------------------------------------------------------------------------- recognizers
# No \b anywhere: Chinese text has no word boundaries between a Han character and a digit in the sense we
# need (and \b treats Han characters as word characters). Explicit ASCII lookarounds instead.

_REGEX_FLAGS = (
    re.DOTALL | re.MULTILINE
)  # passed to every recognizer too (presidio adds IGNORECASE by default)
_NB = r"(?<![0-9A-Za-z])"  # not preceded by an ASCII letter/digit
_NA = r"(?![0-9A-Za-z])"  # not followed by one
_USCC_CLASS = "[0-9A-HJ-NPQRTUWXY]"

_RESIDENT_ID_RE = (
    _NB + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]" + _NA
)
_MOBILE_RE = _NB + r"(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:\d{8}|[ -]\d{4}[ -]\d{4})" + _NA
_USCC_RE = _NB + f"{_USCC_CLASS}{{2}}\\d{{6}}{_USCC_CLASS}{{10}}" + _NA
_BANK_CARD_RE = _NB + r"(?:[1-9]\d{15,18}|[1-9]\d{3}(?:[ -]\d{4}){3}(?:[ -]?\d{1,3})?)" + _NA
_EMAIL_RE = (
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)

# Chinese personal names. The most common surnames (the 2020 census top list covers ~90% of people) and the
# usual compound ones; a candidate is a whole Han run of 2-4 characters starting with one of them.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
    "武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
    "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉"
    "缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑"
    "郎甄丛仲虞敖巩明佘池查麻苑迟邝萧鞠赖洪谈封官匡荆惠乐郁胥班冀储鄢楚栗谌劳蔺粟皮楼奚冼闻满厉伊阚郜"
    "仝豆练禹盖权朴廉帅屠祖狄漆支卿井丰计索晋容宣鹿阙邸薄芮浦危"
)
_COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "宇文",
    "司徒",
    "令狐",
)
_HAN = "\u4e00-\u9fff"
_NAME_RE = (
    f"(?<![{_HAN}])"
    f"(?:(?:{'|'.join(_COMPOUND_SURNAMES)})[{_HAN}]{{1,2}}|[{_SURNAMES}][{_HAN}]{{1,3}})"
    f"(?![{_HAN}])"
)
# Endings of places, organizations, units and categories, and common words that start with a surname
# character: these are not names. Kept short on purpose: a false hit only holds a result for review.
_NOT_NAME_ENDINGS = tuple(
    "区县市镇乡村街道路巷省州局委厅处科部院校所站队组业司厂店馆园场社会中心室行库组群"
    "线段类型级期年月日元人口户次"
)
_NOT_NAMES = frozenset(
    "谢谢 任何 何时 何地 江湖 万一 于是 白天 黄色 白色 蓝色 金色 金额 成员 成功 成果 安排 包装 "
    "高中 初中 万元 千元 方面 方式 方法 江北 石桥 白沙 金山 龙泉 文星 高峰 安全 全部 全市 全区 "
    "全国 成年 成人 时间 时期 明年 和平 平安 同比 环比 合计 总计 小计 其他 其它 未知 不详 无 "
    "男性 女性 关于 向上 于是 任务 程序 史料 黄金 马路 严重 余额 常住 常规 温度 康复 管理 安置 "
    "齐全 申请 单位 单身 车辆 项目 连续 简单 景区 党员 费用 卫生 应急 宗教 全体 和谐 商业 商务 "
    "边境 师范 和睦 明细 雷达 钱包 曲线 谷物 盛大 华人 华侨 路口 游客 时尚 吉祥 成本 成绩 计划 "
    "解放 解决 柴油 蒙古 包括 宁静 尚未 符合 舒适 柯桥 纪念 梅花 童年 凌晨 毕业 季度 涂料 苗族 "
    "司法 房屋 屈原 艾滋 农业 农民 农村 卓越 古代 简称 车主 麦当 褚橙 景观 宫殿 席位 卫星 米饭 "
    "柏树 宗旨 桂花 全年 应届 和田 师资 商品 沙坪 荣昌 巫山 巫溪 甄别 万州 江津 合川 永川 南川 "
    "綦江 大足 璧山 铜梁 潼南 开州 梁平 武隆 城口 丰都 垫江 忠县 云阳 奉节 石柱 秀山 酉阳 彭水 "
    "黔江 长寿 涪陵 渝中 渝北 巴南 北碚 长安 青龙 太平 金融 房地 教育 文化 龙头 方案 石油 安装 "
    "安徽 江苏 江西 湖南 广东 广西 云南 贵州 四川 陕西 甘肃 宁夏 青海 新疆 西藏 吉林 辽宁 河北 "
    "河南 山东 山西 海南 福建 浙江 上海 北京 天津 重庆 香港 澳门 台湾".split()
)
_CANDIDATE_NAME = re.compile(_NAME_RE, _REGEX_FLAGS)


def plausible_name(text: str) -> bool:
    """Whether a 2-4 character Han run that starts with a surname reads as a personal name.

    >>> [plausible_name(t) for t in ("张伟", "欧阳娜娜", "渝中区", "高中", "金融业", "王家沟村")]
    [True, True, False, False, False, False]
    """
    return text not in _NOT_NAMES and not text.endswith(_NOT_NAME_ENDINGS) and not text.endswith("街道")


# Pre-filter, one compiled pattern per entity, identical to its recognizer's pattern. An entity whose pattern
# does not match the cell cannot produce a finding, because the registry holds only these pattern
# recognizers (blank spaCy pipelines have no NER, and context enhancement only raises the scores of
# existing results). So clean cells skip the analyzer entirely and the analyzer only runs the recognizers
# that can hit. This is exact, not a heuristic: it is the same regex the recognizer will run.
_CANDIDATES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (entity, re.compile(pattern, _REGEX_FLAGS))
    for entity, pattern in (
        (CN_RESIDENT_ID, _RESIDENT_ID_RE),
        (CN_MOBILE, _MOBILE_RE),
        (CN_USCC, _USCC_RE),
        (BANK_CARD, _BANK_CARD_RE),
        (EMAIL_ADDRESS, _EMAIL_RE),
        (CN_PERSON_NAME, _NAME_RE),
    )
)
# Every identifier contains a digit or '@', every name a Han character: a cheaper first test for the
# (common) clean cell.
_MAYBE = re.compile(f"[0-9@{_HAN}]")

# When two recognizers claim exactly the same span (an 18-digit string can satisfy several checksums by
# chance), the more specific one wins.
_PRIORITY = {CN_RESIDENT_ID: 0, CN_USCC: 1, BANK_CARD: 2, CN_MOBILE: 3, EMAIL_ADDRESS: 4, CN_PERSON_NAME: 5}


def _build_recognizers() -> list:
    from presidio_analyzer import Pattern, PatternRecognizer

    class ResidentIdRecognizer(PatternRecognizer):
        def __init__(self) -> None:
            super().__init__(
                supported_entity=CN_RESIDENT_ID,
                name="CnResidentIdRecognizer",
                supported_language=_LANGUAGE,
                global_regex_flags=_REGEX_FLAGS,
                patterns=[Pattern("cn_resident_id", _RESIDENT_ID_RE, 0.4)],
            )

        def validate_result(self, pattern_text: str) -> bool:
            return valid_resident_id(pattern_text)

    class MobileRecognizer(PatternRecognizer):
        def __init__(self) -> None:
            super().__init__(
                supported_entity=CN_MOBILE,
                name="CnMobileRecognizer",
                supported_language=_LANGUAGE,
                global_regex_flags=_REGEX_FLAGS,
                patterns=[Pattern("cn_mobile", _MOBILE_RE, 0.6)],
            )

    class UsccRecognizer(PatternRecognizer):
        def __init__(self) -> None:
            super().__init__(
                supported_entity=CN_USCC,
                name="CnUsccRecognizer",
                supported_language=_LANGUAGE,
                global_regex_flags=_REGEX_FLAGS,
                patterns=[Pattern("cn_uscc", _USCC_RE, 0.4)],
            )

        def validate_result(self, pattern_text: str) -> bool:
            return valid_uscc(pattern_text)

    class BankCardRecognizer(PatternRecognizer):
        def __init__(self) -> None:
            super().__init__(
                supported_entity=BANK_CARD,
                name="BankCardRecognizer",
                supported_language=_LANGUAGE,
                global_regex_flags=_REGEX_FLAGS,
                patterns=[Pattern("bank_card", _BANK_CARD_RE, 0.4)],
            )

        def validate_result(self, pattern_text: str) -> bool:
            digits = pattern_text.replace(" ", "").replace("-", "")
            return 16 <= len(digits) <= 19 and luhn_ok(digits)

    class EmailRecognizer(PatternRecognizer):
        def __init__(self) -> None:
            super().__init__(
                supported_entity=EMAIL_ADDRESS,
                name="CnEmailRecognizer",
                supported_language=_LANGUAGE,
                global_regex_flags=_REGEX_FLAGS,
                patterns=[Pattern("email", _EMAIL_RE, 0.85)],
            )

    class PersonNameRecognizer(PatternRecognizer):
        def __init__(self) -> None:
            super().__init__(
                supported_entity=CN_PERSON_NAME,
                name="CnPersonNameRecognizer",
                supported_language=_LANGUAGE,
                global_regex_flags=_REGEX_FLAGS,
                patterns=[Pattern("cn_person_name", _NAME_RE, 0.5)],
            )

        def validate_result(self, pattern_text: str) -> bool:
            return plausible_name(pattern_text)

    return [
        PersonNameRecognizer(),
        ResidentIdRecognizer(),
        MobileRecognizer(),
        UsccRecognizer(),
        BankCardRecognizer(),
        EmailRecognizer(),
    ]


@lru_cache(maxsize=1)
def _analyzer() -> AnalyzerEngine:
    """Build the analyzer once per process, on first use (never at import time)."""
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class BlankSpacyNlpEngine(SpacyNlpEngine):
        """Tokenizer-only pipelines: no model download, no NER (our recognizers are all patterns)."""

        def __init__(self) -> None:
            super().__init__(
                models=[
                    {"lang_code": "zh", "model_name": "blank:zh"},
                    {"lang_code": "en", "model_name": "blank:en"},
                ]
            )

        def load(self) -> None:
            self.nlp = {"zh": spacy.blank("zh"), "en": spacy.blank("en")}

    nlp_engine = BlankSpacyNlpEngine()
    nlp_engine.load()
    registry = RecognizerRegistry(recognizers=_build_recognizers(), supported_languages=[_LANGUAGE])
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[_LANGUAGE])


@lru_cache(maxsize=1)
def _no_artifacts():
    """NLP artifacts of the empty text, reused for every cell.

    Our recognizers are pure patterns and need no tokens; tokenizing each cell with spaCy doubled the cost
    and contributed nothing (blank pipelines have no NER, and the Chinese blank tokenizer splits per
    character, so multi-character context words could never match anyway). Context words are therefore
    not declared on the recognizers.
    """
    return _analyzer().nlp_engine.process_text("", _LANGUAGE)


# ------------------------------------------------------------------------------------------------- API


@dataclass(frozen=True)
class PiiFinding:
    """One detected identifier: which entity, where (offsets into the scanned text), how sure."""

    entity: str
    start: int
    end: int
    score: float


def scan_text(text: str) -> list[PiiFinding]:
    """Find PRC identifiers in ``text``; returns offsets only, sorted by position.

    >>> scan_text("手机+86 13800138000，身份证11010519491231002X")
    [PiiFinding(entity='CN_MOBILE', start=2, end=17, score=0.6), PiiFinding(entity='CN_RESIDENT_ID', start=21, end=39, score=1.0)]
    >>> scan_text("2024年合计 1234567.89 元")
    []
    """
    if not text or not isinstance(text, str) or _MAYBE.search(text) is None:
        return []
    wanted = [entity for entity, pattern in _CANDIDATES if pattern.search(text)]
    if not wanted:
        return []
    analyzer = _analyzer()
    results = analyzer.analyze(text=text, language=_LANGUAGE, entities=wanted, nlp_artifacts=_no_artifacts())
    best: dict[tuple[int, int], PiiFinding] = {}
    for r in results:
        finding = PiiFinding(r.entity_type, r.start, r.end, round(float(r.score), 4))
        key = (r.start, r.end)
        held = best.get(key)
        if held is None or _PRIORITY[finding.entity] < _PRIORITY[held.entity]:
            best[key] = finding
    return sorted(best.values(), key=lambda f: (f.start, f.end, _PRIORITY[f.entity]))


def scan_values(values: Iterable[object], *, min_score: float = 0.5) -> Counter[str]:
    """Count, per entity, how many cells hold at least one finding scoring ``>= min_score``.

    ``None`` and non-string cells are skipped (identifiers stored as numbers must be cast by the caller).
    Repeated values are scanned once per call.

    >>> scan_values(["6222020200000000006", "6222020200000000003", "a@b.cn", "a@b.cn"])
    Counter({'EMAIL_ADDRESS': 2, 'BANK_CARD': 1})
    """
    counts: Counter[str] = Counter()
    seen: dict[str, frozenset[str]] = {}
    for value in values:
        if not isinstance(value, str) or not value:
            continue
        hit = seen.get(value)
        if hit is None:
            hit = frozenset(f.entity for f in scan_text(value) if f.score >= min_score)
            if len(seen) < 100_000:
                seen[value] = hit
        counts.update(hit)
    return counts

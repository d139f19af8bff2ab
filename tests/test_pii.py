"""PRC PII recognizers: planted valid values hit, broken checksums and ordinary numbers do not."""

from __future__ import annotations

import socket

import pytest

from common import pii
from common.pii import (
    ENTITIES,
    PiiFinding,
    luhn_ok,
    resident_id_check_char,
    scan_text,
    scan_values,
    uscc_check_char,
    valid_resident_id,
    valid_uscc,
)

RID = "11010519491231002X"  # GB 11643 standard example
RID_2 = "500103199001011234"[:17] + resident_id_check_char("50010319900101123")
USCC = "91350100M000100Y43"
CARD = "6222020200000000006"  # Luhn-valid
CARD_16 = "4111111111111111"


def _wrong_check(s: str, alphabet: str) -> str:
    return s[:17] + next(c for c in alphabet if c != s[17])


def entities(text: str) -> list[str]:
    return [f.entity for f in scan_text(text)]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_helpers():
    assert valid_resident_id(RID) and valid_resident_id(RID.lower()) and valid_resident_id(RID_2)
    assert not valid_resident_id(_wrong_check(RID, "0123456789X"))
    assert not valid_resident_id("110105194913310020"[:17] + resident_id_check_char("11010519491331002"))
    assert valid_uscc(USCC) and not valid_uscc(_wrong_check(USCC, "0123456789ABCDEFGHJKLMNPQRTUWXY"))
    assert uscc_check_char(USCC[:17]) == USCC[17]
    assert luhn_ok(CARD) and luhn_ok(CARD_16) and not luhn_ok(CARD[:-1] + "7") and not luhn_ok("abc")


@pytest.mark.parametrize(
    "text,entity",
    [
        (RID, "CN_RESIDENT_ID"),
        (f"身份证号{RID_2}，已核验", "CN_RESIDENT_ID"),
        ("13800138000", "CN_MOBILE"),
        ("电话：+86 13912345678", "CN_MOBILE"),
        ("8615912345678", "CN_MOBILE"),
        ("手机 139-1234-5678 联系", "CN_MOBILE"),
        (USCC, "CN_USCC"),
        (f"统一社会信用代码{USCC}。", "CN_USCC"),
        (CARD, "BANK_CARD"),
        ("卡号 6222 0202 0000 0000 006", "BANK_CARD"),
        (CARD_16, "BANK_CARD"),
        ("联系邮箱abc@x.cn谢谢", "EMAIL_ADDRESS"),
        ("zhang.san+tag@mail.cq.gov.cn", "EMAIL_ADDRESS"),
    ],
)
def test_planted_values_hit(text, entity):
    assert entities(text) == [entity]


@pytest.mark.parametrize(
    "text",
    [
        _wrong_check(RID, "0123456789X"),
        _wrong_check(RID_2, "0123456789X"),
        _wrong_check(USCC, "0123456789ABCDEFGHJKLMNPQRTUWXY"),
        CARD[:-1] + "7",
        "4111111111111112",
        "12345678901",  # 11 digits, not 1[3-9]
        "10012345678",
        "23800138000",
        "138001380001",  # 12 digits: the mobile is embedded in a longer run
        "913800138000",
        "金额 1234567.89 元",
        "2024年",
        "2024-01-01",
        "合计 100000000 元",
        "渝中区解放碑街道",
        "abc@",
        "a@b",
        "",
    ],
)
def test_non_pii_does_not_hit(text):
    assert scan_text(text) == []


def test_finding_offsets_and_no_values():
    text = f"甲{RID}乙"
    [f] = scan_text(text)
    assert f == PiiFinding("CN_RESIDENT_ID", 1, 19, 1.0)
    assert text[f.start : f.end] == RID
    assert set(vars(f)) == {"entity", "start", "end", "score"}


def test_scan_values_counts_cells():
    values = [RID, RID, f"{RID} 与 13800138000", None, 42, "普通文本", USCC, CARD[:-1] + "7"]
    counts = scan_values(values)
    assert counts == {"CN_RESIDENT_ID": 3, "CN_MOBILE": 1, "CN_USCC": 1}
    assert scan_values(["13800138000"], min_score=0.9) == {}
    assert set(ENTITIES) == {
        "CN_RESIDENT_ID",
        "CN_MOBILE",
        "CN_USCC",
        "BANK_CARD",
        "EMAIL_ADDRESS",
        "CN_PERSON_NAME",
    }


@pytest.mark.parametrize("name", ["张伟", "王秀英", "欧阳娜娜", "李建国", "联系人：刘洋", "陈静 (户主)"])
def test_a_chinese_personal_name_standing_alone_is_found(name):
    """Issue 10: a name literal in an output cell must be held for review like an ID number."""
    assert [f.entity for f in scan_text(name)] == ["CN_PERSON_NAME"]


@pytest.mark.parametrize(
    "text",
    ["渝中区", "解放碑街道", "高中", "金融业", "男", "女", "批发和零售业", "王家沟村", "张三的收入明细"],
)
def test_places_categories_and_running_text_are_not_names(text):
    assert scan_text(text) == []


def test_analyzer_is_lazy_and_registry_is_ours():
    analyzer = pii._analyzer()
    assert {r.supported_entities[0] for r in analyzer.registry.recognizers} == set(ENTITIES)
    assert pii._analyzer() is analyzer

"""Translations: every basic code, stage, class, subject and failed step in zh, fr, tr.

A translation counts only when it covers every field English has (otherwise
the classifier shows English and says so), so each check here goes through
the public API and asserts the language that came out. The field-by-field
check of stage overrides catches what that cannot: a stage translation that
is missing falls back to the code's general translation, which reads fine but
says less than the English stage text.

Seed parity pins, per code and language, the points the explanation of the
seven most asked-about codes must make (what it means, when you see it, what
to do), as key phrases: a rewording that drops one of them fails.
"""
# Turkish dotless i and full-width CJK punctuation are the point of this module.
# ruff: noqa: RUF001

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest

from knowledge import compare, explain_error, explain_reply, loader
from knowledge.compare import facts

LANGS = ("zh", "fr", "tr")
TEXT_FIELDS = ("title", "meaning", "when", "fix", "fix_admin")


def _basic_codes() -> list[tuple[int, str | None]]:
    """(code, stage) for every basic code alone and at each stage it overrides."""
    cases: list[tuple[int, str | None]] = []
    for key, entry in loader.codes().items():
        if key.startswith("c") and key[1:].isdigit():
            cases.append((int(key[1:]), None))
            cases.extend((int(key[1:]), stage) for stage in entry.get("stage", {}))
    return cases


def _error_steps() -> list[tuple[str, str | None]]:
    cases: list[tuple[str, str | None]] = []
    for kind, entry in loader.errors().items():
        cases.append((kind, None))
        cases.extend((kind, stage) for stage in entry.get("stage", {}))
    return cases


BASIC = _basic_codes()
STEPS = _error_steps()


def _id(case: tuple[Any, str | None]) -> str:
    return f"{case[0]}@{case[1]}" if case[1] else str(case[0])


def test_the_case_lists_cover_the_data() -> None:
    """Guards the parametrisation itself: an empty list would pass every test below."""
    assert len([c for c in BASIC if c[1] is None]) >= 37
    assert len([c for c in BASIC if c[1] is not None]) >= 37
    assert (214, None) in BASIC and (250, "rcpt") in BASIC
    assert ("timeout", "connect") in STEPS and ("unknown", None) in STEPS


# ---------------------------------------------------------------- completeness

@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", BASIC, ids=_id)
def test_every_basic_code_is_translated(case: tuple[int, str | None], lang: str) -> None:
    code, stage = case
    english = explain_reply(code, "", stage, "en")
    local = explain_reply(code, "", stage, lang)
    assert local.lang == lang
    for field in TEXT_FIELDS:
        assert bool(getattr(local, field)) == bool(getattr(english, field)), field
    assert local.title != english.title or local.meaning != english.meaning


@pytest.mark.parametrize("lang", LANGS)
def test_stage_overrides_have_their_own_translation(lang: str) -> None:
    """Each field a stage override sets in English is translated at that stage."""
    codes = loader.translations(lang)["code"]
    missing = []
    for key, entry in loader.codes().items():
        if not (key.startswith("c") and key[1:].isdigit()):
            continue
        for stage, override in entry.get("stage", {}).items():
            local = codes.get(key[1:], {}).get("stage", {}).get(stage, {})
            missing += [f"{key[1:]}@{stage}.{f}" for f in TEXT_FIELDS
                        if str(override.get(f, "")).strip() and not local.get(f)]
    assert not missing


@pytest.mark.parametrize("lang", LANGS)
def test_every_use_when_is_translated_and_used_by_compare(lang: str) -> None:
    codes = loader.translations(lang)["code"]
    for key, entry in loader.codes().items():
        if key.startswith("c") and key[1:].isdigit() and entry.get("use_when"):
            local = codes[key[1:]].get("use_when", "")
            assert local, key
            assert facts(key[1:], lang).use_when == local


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("code", [299, 399, 499, 599, 199])
def test_unknown_codes_fall_back_to_a_translated_class(code: int, lang: str) -> None:
    ann = explain_reply(code, "", None, lang)
    assert ann.lang == lang
    assert ann.matched.startswith("class:")


@pytest.mark.parametrize("lang", LANGS)
def test_class_and_subject_names_are_translated(lang: str) -> None:
    data = loader.translations(lang)
    for key in loader.codes()["class"]:
        assert data["class"][key]["name"] != loader.codes()["class"][key]["name"]
    for key in loader.enhanced()["subject"]:
        assert data["subject"][key]["name"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("subject", range(1, 8))  # X.0.x never outranks the basic code
def test_unknown_enhanced_detail_reads_its_translated_subject(subject: int, lang: str) -> None:
    ann = explain_reply(550, f"5.{subject}.999", None, lang)
    assert ann.evidence == f"enhanced:5.{subject}.999"  # `matched` adds what it beat
    assert ann.lang == lang
    assert ann.when == loader.translations(lang)["subject"][str(subject)]["when"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("enhanced", ["5.1.999", "5.9.9", "5.0.999"])
def test_an_unregistered_code_is_said_so_in_the_language(lang: str, enhanced: str) -> None:
    english = explain_reply(550, enhanced, None, "en").enhanced_title
    local = explain_reply(550, enhanced, None, lang)
    assert local.enhanced_registered is False
    assert local.enhanced_title and local.enhanced_title != english
    assert "registered" not in local.enhanced_title


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", STEPS, ids=_id)
def test_every_failed_step_is_translated(case: tuple[str, str | None], lang: str) -> None:
    kind, stage = case
    english = explain_error(kind, stage or "", "en")
    local = explain_error(kind, stage or "", lang)
    assert local.lang == lang
    for field in TEXT_FIELDS:
        assert bool(getattr(local, field)) == bool(getattr(english, field)), field


# ---------------------------------------------------------------- seed parity

# For each code and language: (field, key phrase) pairs, compared case-insensitively.
SEED: dict[int, dict[str, list[tuple[str, str]]]] = {
    211: {
        "en": [("meaning", "system status or system help reply"), ("meaning", "informational"),
               ("when", "HELP"), ("fix", "no fix needed"), ("fix", "informational")],
        "zh": [("meaning", "系统状态"), ("meaning", "帮助"), ("meaning", "仅供参考"),
               ("when", "HELP"), ("fix", "无需处理"), ("fix", "参考信息")],
        "fr": [("meaning", "état"), ("meaning", "aide"), ("meaning", "informative"),
               ("when", "HELP"), ("fix", "rien à corriger"), ("fix", "informatif")],
        "tr": [("meaning", "sistem durumu"), ("meaning", "yardım"),
               ("meaning", "bilgi amaçlıdır"), ("when", "HELP"),
               ("fix", "düzeltilecek bir şey yok"), ("fix", "bilgi amaçlıdır")],
    },
    214: {
        "en": [("meaning", "help message"), ("when", "HELP"), ("fix", "no fix needed"),
               ("fix", "informational"), ("fix", "use the help text"),
               ("fix", "which commands the server supports")],
        "zh": [("meaning", "帮助信息"), ("when", "HELP"), ("fix", "无需处理"), ("fix", "参考信息"),
               ("fix", "帮助文本"), ("fix", "支持哪些命令")],
        "fr": [("meaning", "message d'aide"), ("when", "HELP"), ("fix", "rien à corriger"),
               ("fix", "informatif"), ("fix", "texte d'aide"),
               ("fix", "quelles commandes le serveur prend en charge")],
        "tr": [("meaning", "yardım iletisi"), ("when", "HELP"),
               ("fix", "düzeltilecek bir şey yok"), ("fix", "bilgi amaçlıdır"),
               ("fix", "yardım metnini"), ("fix", "hangi komutları desteklediğini")],
    },
    250: {
        "en": [("title", "requested action completed"), ("meaning", "accepted"),
               ("when", "RCPT TO"), ("fix", "no fix needed")],
        "zh": [("title", "请求的操作已完成"), ("meaning", "已被接受"), ("when", "RCPT TO"),
               ("fix", "无需处理")],
        "fr": [("title", "action demandée effectuée"), ("meaning", "acceptée"),
               ("when", "RCPT TO"), ("fix", "rien à corriger")],
        "tr": [("title", "istenen işlem tamamlandı"), ("meaning", "kabul edildi"),
               ("when", "RCPT TO"), ("fix", "düzeltilecek bir şey yok")],
    },
    251: {
        "en": [("title", "user not local"), ("meaning", "forward"), ("meaning", "forward-path"),
               ("when", "RCPT TO"), ("fix", "nothing to fix"), ("fix", "outdated")],
        "zh": [("title", "用户不在本地"), ("meaning", "转发"), ("meaning", "转发路径"),
               ("when", "RCPT TO"), ("fix", "无需处理"), ("fix", "过时")],
        "fr": [("title", "utilisateur non local"), ("meaning", "transférer"),
               ("meaning", "chemin de renvoi"), ("when", "RCPT TO"),
               ("fix", "rien à corriger"), ("fix", "périmée")],
        "tr": [("title", "kullanıcı yerel değil"), ("meaning", "iletme sorumluluğunu"),
               ("meaning", "yönlendirme yoluna"), ("when", "RCPT TO"),
               ("fix", "düzeltilecek bir şey yok"), ("fix", "eskimiş")],
    },
    450: {
        "en": [("meaning", "mailbox is unavailable for now"), ("meaning", "busy"),
               ("meaning", "locked"), ("meaning", "greylisting"), ("when", "RCPT TO"),
               ("fix", "retry later")],
        "zh": [("meaning", "暂时不可用"), ("meaning", "繁忙"), ("meaning", "锁定"),
               ("meaning", "灰名单"), ("when", "RCPT TO"), ("fix", "稍后重试")],
        "fr": [("meaning", "indisponible pour l'instant"), ("meaning", "occupée"),
               ("meaning", "verrouillée"), ("meaning", "liste grise"), ("when", "RCPT TO"),
               ("fix", "réessayer plus tard")],
        "tr": [("meaning", "şu an kullanılamadığı"), ("meaning", "meşgul"),
               ("meaning", "kilitli"), ("meaning", "gri liste"), ("when", "RCPT TO"),
               ("fix", "daha sonra"), ("fix", "yeniden deneyin")],
    },
    451: {
        "en": [("title", "local error in processing"), ("meaning", "aborted"),
               ("when", "RCPT TO"), ("fix", "retry later"), ("fix_admin", "logs"),
               ("fix_admin", "resources")],
        "zh": [("title", "本地处理错误"), ("meaning", "中止"), ("when", "RCPT TO"),
               ("fix", "稍后重试"), ("fix_admin", "日志"), ("fix_admin", "资源")],
        "fr": [("title", "erreur locale de traitement"), ("meaning", "abandonné"),
               ("when", "RCPT TO"), ("fix", "réessayer plus tard"),
               ("fix_admin", "journaux"), ("fix_admin", "ressources")],
        "tr": [("title", "yerel işleme hatası"), ("meaning", "iptal etti"),
               ("when", "RCPT TO"), ("fix", "daha sonra yeniden deneyin"),
               ("fix_admin", "günlüklerine"), ("fix_admin", "kaynaklara")],
    },
    551: {
        "en": [("title", "user not local"), ("meaning", "will not forward"),
               ("meaning", "forward-path"), ("when", "RCPT TO"), ("fix", "fix the address")],
        "zh": [("title", "用户不在本地"), ("meaning", "不会转发"), ("meaning", "转发路径"),
               ("when", "RCPT TO"), ("fix", "更正地址")],
        "fr": [("title", "utilisateur non local"), ("meaning", "ne transférera pas"),
               ("meaning", "chemin de renvoi"), ("when", "RCPT TO"),
               ("fix", "corriger l'adresse")],
        "tr": [("title", "kullanıcı yerel değil"), ("meaning", "iletmeyecek"),
               ("meaning", "yönlendirme yolunu"), ("when", "RCPT TO"),
               ("fix", "adresi düzeltin")],
    },
}


def _fold(text: str) -> str:
    """Case-fold; Turkish dotted capital I folds to plain i, not i + combining dot."""
    return text.replace("İ", "i").casefold()


@pytest.mark.parametrize("lang", ("en", *LANGS))
@pytest.mark.parametrize("code", sorted(SEED))
def test_seed_parity(code: int, lang: str) -> None:
    ann = explain_reply(code, "", None, lang)
    assert ann.lang == lang
    missing = [(field, phrase) for field, phrase in SEED[code][lang]
               if _fold(phrase) not in _fold(getattr(ann, field))]
    assert not missing


def test_seed_parity_214_and_211_say_informational_not_a_problem() -> None:
    for code in (211, 214):
        ann = explain_reply(code, "", "help", "en")
        assert (ann.severity, ann.category) == ("info", "help" if code == 214 else "system_status")


# ---------------------------------------------------------------- punctuation

# Exactly two dots (an ellipsis "..." is fine), a doubled ideographic full stop
# or other full-width mark, or a full stop of one script next to one of the other.
_DOUBLED = re.compile(r"(?<!\.)\.\.(?!\.)|。。|。\.|\.。|[；：，]{2}")
# ASCII punctuation touching a Han character: Chinese text uses full-width forms.
_HALF_WIDTH_IN_ZH = re.compile(r"[\u4e00-\u9fff][,;:!?()]|[,;:!?(][\u4e00-\u9fff]")


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, str):
        yield path, node


@pytest.mark.parametrize("lang", ("en", *LANGS))
def test_no_doubled_punctuation_in_any_text(lang: str) -> None:
    sources: list[Any] = [loader.translations(lang)]
    if lang == "en":
        sources += [loader.codes(), loader.errors(), loader.enhanced()]
    bad = [(p, s) for src in sources for p, s in _strings(src) if _DOUBLED.search(s)]
    assert not bad


def test_chinese_uses_full_width_punctuation() -> None:
    bad = [(p, s) for p, s in _strings(loader.translations("zh")) if _HALF_WIDTH_IN_ZH.search(s)]
    assert not bad


@pytest.mark.parametrize("lang", ("en", *LANGS))
def test_compare_sentences_have_no_doubled_punctuation(lang: str) -> None:
    """`compare` glues use_when and template text; the seams must not double a full stop."""
    seeds = sorted(SEED)
    for a, b in itertools.chain(itertools.combinations(seeds, 2),
                                ((c, 451) for c, _ in BASIC if _ is None)):
        result = compare(str(a), str(b), lang)
        assert result.lang == lang
        for sentence in result.differences + result.which_when:
            assert not _DOUBLED.search(sentence), sentence

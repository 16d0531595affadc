"""Each non-English phrase added to generic.toml reaches its category.

Bare phrases, not corpus replies: the corpus holds the sourced lines; this
guards the regex alternatives (and their Unicode literals) that have none.
"""

from __future__ import annotations

import pytest

from knowledge import explain_reply

PHRASES = [
    (550, "Benutzer unbekannt", "user_unknown"),
    (550, "Utilisateur inconnu", "user_unknown"),
    (550, "utente inesistente", "user_unknown"),
    (550, "usuario desconocido", "user_unknown"),
    (550, "usuário inexistente", "user_unknown"),
    (550, "Nie ma takiego konta", "user_unknown"),
    (550, "用户不存在", "user_unknown"),
    (552, "Postfach voll", "mailbox_full"),
    (552, "Boîte aux lettres pleine", "mailbox_full"),
    (552, "casella piena", "mailbox_full"),
    (552, "buzón lleno", "mailbox_full"),
    (552, "skrzynka pełna", "mailbox_full"),
    (552, "邮箱空间不足", "mailbox_full"),
    (552, "почтовый ящик переполнен", "mailbox_full"),
    (550, "Mailbox deaktiviert", "mailbox_disabled"),
    (554, "垃圾邮件", "spam_content"),
]


@pytest.mark.parametrize(("code", "text", "category"), PHRASES)
def test_phrase(code: int, text: str, category: str) -> None:
    assert explain_reply(code, text).category == category
